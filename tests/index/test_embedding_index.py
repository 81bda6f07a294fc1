import numpy as np
import pytest

from metrickit.index import EmbeddingIndex, exact_top_k, index_settings, recall_at_k


def _clusters(n: int, dim: int = 16, centres: int = 50, seed: int = 0, spread: float = 0.6):
    rng = np.random.default_rng(seed)
    middle = rng.normal(size=(centres, dim))
    return (middle[rng.integers(centres, size=n)] + spread * rng.normal(size=(n, dim))).astype(np.float32)


def test_defaults_follow_faiss_guidelines():
    assert index_settings(10_000, 128).kind == "flat"
    ivf = index_settings(200_000, 128)
    assert ivf.kind == "ivf" and ivf.parameters["nlist"] == 200_000 // 39 and ivf.factory.startswith("IVF5128,")  # 16 sqrt(N), 39 a list
    assert index_settings(2_000_000, 128, "ivf").parameters["nlist"] == round(16 * 2_000_000 ** 0.5)
    assert index_settings(1_000, 8, "hnsw").parameters["hnsw_ef_construction"] == 200
    assert "HNSW32" in index_settings(2_000_000, 128, "ivf").factory  # an HNSW coarse quantiser above a million
    pq = index_settings(200_000, 128, "ivfpq")
    assert pq.parameters["pq_m"] == 32 and pq.factory.endswith("PQ32")  # 32 one-byte codes: 1/16 of float32
    assert index_settings(100, 8, "ivf").parameters["nlist"] == 2  # at least 39 training points per list
    with pytest.raises(ValueError, match=r"`pq_m` \(5\) must divide the embedding dimension \(16\)"):
        index_settings(10_000, 16, "ivfpq", pq_m=5)
    million = index_settings(1_000_000, 128, "ivf")
    assert million.training_rows(1_000_000, 100_000) == 40 * million.parameters["nlist"] == 640_000  # 40 a list, above the default
    assert ivf.training_rows(200_000, 100_000) == 200_000 and ivf.training_rows(50_000, 100_000) == 50_000
    assert index_settings(10_000, 128, "flat").training_rows(10_000, 100_000) == 0


def test_ivfpq_skips_polysemous_training_which_its_search_never_uses():
    import faiss

    index = EmbeddingIndex.build(_clusters(3_000, seed=5), kind="ivfpq", nlist=8, pq_m=8)
    assert not faiss.downcast_index(faiss.extract_index_ivf(index.index)).do_polysemous_training


def test_hnsw_graph_degree_and_construction_effort_reach_faiss():
    import faiss

    index = EmbeddingIndex.build(_clusters(500, seed=6), kind="hnsw", hnsw_m=16, hnsw_ef_construction=120)
    graph = faiss.downcast_index(index.index.index).hnsw
    assert graph.efConstruction == 120 and index.settings.factory == "IDMap2,HNSW16"
    assert index.settings.parameters == {"hnsw_m": 16, "hnsw_ef_construction": 120}
    with pytest.raises(ValueError, match="hnsw_ef_construction"):
        index_settings(1_000, 16, "hnsw", hnsw_ef_construction=0)


@pytest.mark.parametrize("normalized", [False, True])
def test_flat_search_equals_exact_ranking_with_ids_and_labels(normalized):
    gallery = _clusters(3000)
    if normalized:
        gallery /= np.linalg.norm(gallery, axis=1, keepdims=True)
    queries = gallery[:40] + 0.01
    index = EmbeddingIndex.build(gallery, ids=np.arange(3000) + 1000, labels=np.arange(3000) % 7, kind="flat", normalized=normalized)
    scores, ids = index.search(queries, 10)
    exact = exact_top_k(queries.astype(np.float64), gallery.astype(np.float64), 10, inner_product=normalized) + 1000
    assert recall_at_k(ids, exact, 10) == pytest.approx(1.0, abs=0.003)  # ties and float32 rounding aside
    assert np.all(np.diff(scores, axis=1) <= 1e-5) if normalized else np.all(np.diff(scores, axis=1) >= -1e-5)
    assert np.array_equal(index.labels_of(ids[:, 0]), (ids[:, 0] - 1000) % 7)


@pytest.mark.parametrize("kind", ["ivf", "hnsw", "ivfpq"])
def test_tuning_picks_the_least_effort_that_reaches_the_target_on_held_out_queries(kind):
    data = _clusters(12_000, seed=1)
    gallery, queries = data[:10_000], data[10_000:10_200]  # queries are not in the index
    index = EmbeddingIndex.build(gallery, kind=kind, nlist=64)
    target = 0.6 if kind == "ivfpq" else 0.95
    report = index.tune(queries, gallery, target_recall=target, k=10)
    assert report["reached"] and report["recall_at_10"] >= target and report["n_queries"] == 200
    if len(report["tried"]) > 1:  # the effort before the chosen one fell short
        assert report["tried"][-2]["recall_at_10"] < target
    assert index.search_effort == report["effort"]


def test_tuning_stops_where_recall_stops_rising_and_keeps_the_effort_before_the_plateau():
    data = _clusters(12_000, seed=1)
    gallery, queries = data[:10_000], data[10_000:10_200]
    index = EmbeddingIndex.build(gallery, kind="ivfpq", nlist=64, pq_m=2)  # 2 bytes a vector cap recall far below 0.99
    report = index.tune(queries, gallery, target_recall=0.99, k=10)
    recalls = [row["recall_at_10"] for row in report["tried"]]
    assert not report["reached"] and report["stopped"] == "plateau"
    assert len(recalls) < len(index.efforts())  # the ladder goes on to 64 probes; the tuning did not
    assert recalls[-2] - recalls[-3] < 0.001 and recalls[-1] - recalls[-2] < 0.001
    assert report["effort"] == report["tried"][-3]["effort"] == index.search_effort
    with pytest.raises(ValueError, match="`plateau` must be a recall gain >= 0"):
        index.tune(queries, gallery, plateau=-0.1)


def test_tuning_against_precomputed_exact_neighbours_matches_tuning_that_computes_them():
    from metrickit.index import exact_top_k

    data = _clusters(6_000, seed=4)
    gallery, queries = data[:5_000], data[5_000:5_150]
    computed = EmbeddingIndex.build(gallery, kind="ivf", nlist=32).tune(queries, gallery, target_recall=0.95)
    given = EmbeddingIndex.build(gallery, kind="ivf", nlist=32)
    report = given.tune(queries, gallery, target_recall=0.95, exact=exact_top_k(queries, gallery, 20))
    assert report["tried"] == computed["tried"] and given.search_effort == computed["effort"]
    with pytest.raises(ValueError, match="`exact` must hold 150 rows of at least 10"):
        given.tune(queries, gallery, exact=exact_top_k(queries, gallery, 5))


def test_add_remove_save_load_and_refusals(tmp_path):
    gallery = _clusters(2000, seed=2)
    index = EmbeddingIndex.build(gallery[:1500], kind="ivf", labels=np.zeros(1500, int), model_sha256="a" * 64, nlist=16)
    index.add(gallery[1500:], labels=np.ones(500, int))
    assert len(index) == 2000 and index.ids[-1] == 1999
    assert index.remove([0, 1, 5000]) == 2 and len(index) == 1998
    index.tune(gallery[:50] + 0.01, gallery[2:], target_recall=0.9)
    index.save(tmp_path / "idx")
    loaded = EmbeddingIndex.load(tmp_path / "idx", model_sha256="a" * 64)
    assert np.array_equal(loaded.search(gallery[:5], 3)[1], index.search(gallery[:5], 3)[1])
    assert loaded.search_effort == index.search_effort and loaded.recall["reached"] == index.recall["reached"]
    with pytest.raises(ValueError, match="built from another model's embeddings"):
        EmbeddingIndex.load(tmp_path / "idx", model_sha256="b" * 64)
    with pytest.raises(FileExistsError, match="already holds an index"):
        index.save(tmp_path / "idx")
    data = (tmp_path / "idx" / "index.faiss").read_bytes()
    (tmp_path / "idx" / "index.faiss").write_bytes(data[: len(data) // 2])
    with pytest.raises(ValueError, match="index.faiss is missing, truncated or not the file"):
        EmbeddingIndex.load(tmp_path / "idx")
    with pytest.raises(FileNotFoundError, match="holds no metrickit index"):
        EmbeddingIndex.load(tmp_path / "nothing")


def test_bad_input_gets_one_line_errors():
    gallery = _clusters(200)
    index = EmbeddingIndex.build(gallery, kind="hnsw")
    with pytest.raises(ValueError, match="cannot remove vectors"):
        index.remove([1])
    with pytest.raises(ValueError, match="queries"):
        index.search(np.zeros((2, 8)), 5)  # wrong dimension
    with pytest.raises(ValueError, match="`k`"):
        index.search(gallery[:2], 201)
    bad = gallery[:3].copy()
    bad[1, 2] = np.nan
    with pytest.raises(ValueError, match="queries"):
        index.search(bad, 5)
    with pytest.raises(ValueError, match="`embeddings` is empty"):
        EmbeddingIndex.build(np.zeros((0, 16), np.float32))
    with pytest.raises(ValueError, match="`ids` must be unique"):
        index.add(gallery[:2], ids=[0, 1])
    with pytest.raises(ValueError, match="`labels` must be given for every addition or for none"):
        index.add(gallery[:2], labels=[1, 2])


def test_ready_float32_queries_pass_without_a_copy_and_bad_ones_still_get_the_named_error():
    from metrickit.index.embedding_index import _embeddings

    ready = np.ones((3, 8), dtype=np.float32)
    assert _embeddings(ready, "queries", 8) is ready
    assert _embeddings(ready.astype(np.float64), "queries", 8).dtype == np.float32
    ready[1, 2] = np.nan
    with pytest.raises(ValueError, match="`queries` must contain only finite values; found 1 NaN"):
        _embeddings(ready, "queries", 8)
    with pytest.raises(ValueError, match="`queries` has 8 features but 4 were expected"):
        _embeddings(np.ones((2, 8), np.float32), "queries", 4)
    huge = np.full((2, 8), 1e30, dtype=np.float32)  # finite, but the squares overflow float32: the element-wise check decides
    assert _embeddings(huge, "queries", 8) is huge
    huge[0, 0], huge[1, 1] = np.inf, -np.inf
    with pytest.raises(ValueError, match="`queries` must contain only finite values; found 0 NaN and 2 infinite"):
        _embeddings(huge, "queries", 8)


def test_search_refuses_a_bad_k_and_an_empty_index_and_takes_numpy_integers():
    gallery = _clusters(100, seed=5)
    index = EmbeddingIndex.build(gallery, kind="flat")
    assert np.array_equal(index.search(gallery[:3], np.int64(4))[1], index.search(gallery[:3], 4)[1])
    with pytest.raises(ValueError, match=r"`k` must be >= 1 and <= 100; got 101"):
        index.search(gallery[:3], 101)
    with pytest.raises(ValueError, match=r"`k` must be >= 1 and <= 100; got 0"):
        index.search(gallery[:3], 0)
    with pytest.raises(TypeError, match="`k` must be an integer"):
        index.search(gallery[:3], True)
    with pytest.raises(ValueError, match="the index is empty"):
        EmbeddingIndex.empty(100, 16, kind="flat").search(gallery[:3], 1)
