import re

import numpy as np
import pytest
from scipy.spatial.distance import cdist

from metrickit.evaluation.reid import reid_metrics
from metrickit.evaluation.rerank import rerank_distances
from tests.evaluation._reid_reference import eval_market1501, evaluation_market, re_ranking


def _scene(seed, n_ids=12, per_id=5, n_cams=3, dim=6):
    """Identities as noisy clusters seen by random cameras; one query per (identity, camera) group, all images in the gallery."""
    rng = np.random.default_rng(seed)
    ids = np.repeat(np.arange(n_ids), per_id)
    cams = rng.integers(0, n_cams, len(ids))
    X = rng.normal(size=(n_ids, dim))[ids] * 1.5 + rng.normal(size=(len(ids), dim))
    first = np.unique(ids * 10 + cams, return_index=True)[1]
    return X, ids, cams, np.sort(first)


def test_a_hand_worked_query():
    # query: identity 1, camera 0. Gallery by distance: [id1 cam0 (junk), id2 cam0, id1 cam1, id3 cam1, id1 cam2]
    gallery = np.array([[0.1], [0.2], [0.3], [0.4], [0.5]])
    report = reid_metrics(np.array([[0.0]]), gallery, [1], [1, 2, 1, 3, 1], [0], [0, 0, 1, 1, 2], max_rank=4)
    # kept ranking: id2 (miss), id1 (hit at 2), id3 (miss), id1 (hit at 4): AP = (1/2 + 2/4) / 2
    assert report.mean_ap == pytest.approx(0.5)
    assert report.cmc == [0.0, 1.0, 1.0, 1.0] and report.rank1 == 0.0 and (report.n_queries, report.n_skipped) == (1, 0)


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("working_memory", [None, 0.001])  # 0.001 MiB: one query per block
def test_matches_torchreid_protocol_brute_force(seed, working_memory):
    X, ids, cams, queries = _scene(seed)
    report = reid_metrics(X[queries], X, ids[queries], ids, cams[queries], cams, query_positions=queries, max_rank=10,
                          working_memory=working_memory)
    cmc, mean_ap, n_valid = eval_market1501(cdist(X[queries], X, "sqeuclidean"), ids[queries], ids, cams[queries], cams, 10)
    assert report.n_queries == n_valid and report.n_skipped == len(queries) - n_valid
    np.testing.assert_allclose(report.cmc, cmc)
    assert report.mean_ap == pytest.approx(mean_ap)


def test_junk_identity_is_ignored_not_ranked_as_a_miss():
    # query (id 1, cam 1); gallery: (id -1, cam 2) at 0.1, (id 1, cam 2) at 1.0. Market-1501 ignores the junk box.
    report = reid_metrics(np.array([[0.0]]), np.array([[0.1], [1.0]]), [1], [-1, 1], [1], [2, 2], max_rank=2)
    assert report.mean_ap == 1.0 and report.rank1 == 1.0


def test_distractor_identity_zero_counts_as_a_wrong_match():
    report = reid_metrics(np.array([[0.0]]), np.array([[0.1], [1.0]]), [1], [0, 1], [1], [2, 2], max_rank=2)
    assert report.mean_ap == 0.5 and report.rank1 == 0.0


def test_a_junk_query_is_refused():
    with pytest.raises(ValueError, match=re.escape("`query_ids` has identity -1 (junk) at query 1; junk images (1 here) cannot be queries")):
        reid_metrics(np.zeros((2, 1)), np.zeros((2, 1)), [1, -1], [1, 2], [1, 1], [2, 2])


def test_the_ap_rule_is_checked():
    with pytest.raises(ValueError, match=re.escape("`ap` must be one of 'torchreid', 'market1501'; got 'voc'.")):
        reid_metrics(np.zeros((1, 1)), np.zeros((1, 1)), [1], [1], [1], [2], ap="voc")


def test_market1501_ap_by_hand():
    # kept ranking: miss, hit (rank 2), miss, hit (rank 4); trapezoids: (0/1 + 1/2)/2 and (1/3 + 2/4)/2, each over 2 matches
    gallery = np.array([[0.1], [0.2], [0.3], [0.4], [0.5]])
    report = reid_metrics(np.array([[0.0]]), gallery, [1], [1, 2, 1, 3, 1], [0], [0, 0, 1, 1, 2], ap="market1501")
    assert report.mean_ap == pytest.approx(((0 + 1 / 2) / 2 + (1 / 3 + 2 / 4) / 2) / 2)
    assert report.ap_rule == "market1501"


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_matches_market1501_evaluation_code_with_junk_and_distractors(seed):
    X, ids, cams, queries = _scene(seed)
    rng = np.random.default_rng(seed)
    gallery_ids = ids.copy()
    gallery_ids[rng.random(len(ids)) < 0.15] = -1  # junk boxes
    gallery_ids[rng.random(len(ids)) < 0.1] = 0  # distractors
    queries = queries[gallery_ids[queries] > 0]
    D = cdist(X[queries], X, "sqeuclidean")
    cmc, mean_ap, n_valid = evaluation_market(D, ids[queries], gallery_ids, cams[queries], cams, 10)
    report = reid_metrics(X[queries], X, ids[queries], gallery_ids, cams[queries], cams, max_rank=10, ap="market1501")
    assert report.n_queries == n_valid
    np.testing.assert_allclose(report.cmc, cmc)
    assert report.mean_ap == pytest.approx(mean_ap)
    torchreid_form = reid_metrics(X[queries], X, ids[queries], gallery_ids, cams[queries], cams, max_rank=10).mean_ap
    assert mean_ap <= torchreid_form


def test_queries_without_a_match_in_another_camera_are_skipped_and_counted():
    X = np.array([[0.0], [1.0], [2.0], [3.0]])
    report = reid_metrics(X[:2], X, [0, 1], [0, 0, 1, 2], [0, 0], [0, 1, 0, 1], query_positions=[0, 2])
    # query 0 (id 0, cam 0) finds id 0 in cam 1; query 1 (id 1, cam 0) has only itself: skipped
    assert (report.n_queries, report.n_skipped) == (1, 1) and report.mean_ap == 1.0
    with pytest.raises(ValueError, match="no query has a match in the gallery"):
        reid_metrics(X[2:3], X, [1], [0, 0, 1, 2], [0], [0, 1, 0, 1])


@pytest.mark.parametrize("k1, k2, lambda_value", [(6, 3, 0.3), (5, 1, 0.0), (20, 6, 0.3)])
def test_rerank_matches_the_reference_implementation(k1, k2, lambda_value):
    rng = np.random.default_rng(k1)
    q, g = rng.normal(size=(15, 5)), rng.normal(size=(40, 5))
    expected = re_ranking(cdist(q, g, "sqeuclidean"), cdist(q, q, "sqeuclidean"), cdist(g, g, "sqeuclidean"), k1, k2, lambda_value)
    np.testing.assert_allclose(rerank_distances(q, g, k1=k1, k2=k2, lambda_value=lambda_value), expected, atol=1e-9)
    blocked = rerank_distances(q, g, k1=k1, k2=k2, lambda_value=lambda_value, working_memory=0.001)
    np.testing.assert_allclose(blocked, expected, atol=1e-9)


def test_reranked_metrics_rank_by_the_reranked_distances():
    X, ids, cams, queries = _scene(3)
    report = reid_metrics(X[queries], X, ids[queries], ids, cams[queries], cams, query_positions=queries, rerank=True, k1=8, k2=3, max_rank=10)
    D = re_ranking(cdist(X[queries], X, "sqeuclidean"), cdist(X[queries], X[queries], "sqeuclidean"), cdist(X, X, "sqeuclidean"), 8, 3, 0.3)
    cmc, mean_ap, _ = eval_market1501(D, ids[queries], ids, cams[queries], cams, 10)
    assert report.reranked and report.mean_ap == pytest.approx(mean_ap)
    np.testing.assert_allclose(report.cmc, cmc)


def test_bad_inputs_are_named():
    X = np.zeros((3, 2))
    with pytest.raises(ValueError, match="`gallery` has 3 features but 2 were expected"):
        reid_metrics(X, np.zeros((3, 3)), [0] * 3, [0] * 3, [0] * 3, [0] * 3)
    with pytest.raises(ValueError, match=r"`gallery_cams` must hold one label per gallery image \(3\)"):
        reid_metrics(X, X, [0] * 3, [0] * 3, [0] * 3, [0] * 2)
    with pytest.raises(ValueError, match="`k1` .* must be below the number of points"):
        rerank_distances(X, X, k1=20)


@pytest.mark.slow
def test_a_20k_gallery_is_ranked_in_blocks_without_the_full_matrix():
    import tracemalloc

    rng = np.random.default_rng(0)
    n, d = 20_000, 32
    ids = rng.integers(0, 2_000, n)
    cams = rng.integers(0, 6, n)
    X = rng.normal(size=(2_000, d))[ids] + 0.5 * rng.normal(size=(n, d))
    tracemalloc.start()
    report = reid_metrics(X, X, ids, ids, cams, cams, query_positions=np.arange(n), working_memory=256)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert report.n_queries + report.n_skipped == n and 0 < report.mean_ap <= 1
    assert peak < 600 * 2**20, f"peak {peak / 2**20:.0f} MiB; the full 20k x 20k float64 matrix alone is {n * n * 8 / 2**20:.0f} MiB"
