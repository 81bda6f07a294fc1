import numpy as np
import pytest

from metrickit.evaluation import nearest_references, retrieval_metrics


def _clustered(seed=0, n=120, n_classes=6, dim=5, noise=1.5):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, n_classes, n)
    centers = rng.normal(size=(n_classes, dim)) * 2
    return centers[y] + rng.normal(size=(n, dim)) * noise, y


def test_hand_worked_example():
    # 1-D points; query 0 (label a) ranks: 1 (a), 2 (b), 3 (a). R = 2 for label a.
    X = np.array([[0.0], [1.0], [1.5], [2.0]])
    y = np.array(["a", "a", "b", "a"])
    report = retrieval_metrics(X[:1], y[:1], X[1:], y[1:], n_neighbors=1, backend="exact")
    assert report.precision_at_1 == 1.0
    assert report.r_precision == 0.5  # first R = 2 ranks hold one relevant
    assert report.map_at_r == 0.5  # (1/2) * (1/1 + 0)
    assert report.knn_accuracy == 1.0


def test_leave_one_out_excludes_each_query_and_skips_lone_labels():
    X = np.array([[0.0], [0.1], [5.0], [9.0]])
    y = np.array([0, 0, 1, 2])  # labels 1 and 2 have no other member
    report = retrieval_metrics(X, y, n_neighbors=1, backend="exact")
    assert (report.n_queries, report.n_skipped) == (2, 2)
    assert report.precision_at_1 == report.map_at_r == 1.0


def test_exact_and_faiss_agree():
    pytest.importorskip("faiss")
    X, y = _clustered()
    exact = retrieval_metrics(X, y, backend="exact")
    fast = retrieval_metrics(X, y, backend="faiss")
    for field in ("precision_at_1", "r_precision", "map_at_r", "knn_accuracy"):
        assert getattr(exact, field) == pytest.approx(getattr(fast, field), abs=1e-12)
    Q, qy = _clustered(seed=1, n=40)
    np.testing.assert_array_equal(nearest_references(Q, X, 7, "exact")[0], nearest_references(Q, X, 7, "faiss")[0])


@pytest.mark.parametrize("with_reference", [False, True])
def test_equal_to_pytorch_metric_learning(with_reference):
    pytest.importorskip("pytorch_metric_learning")
    from pytorch_metric_learning.utils.accuracy_calculator import AccuracyCalculator

    X, y = _clustered(n=150)
    Q, qy = _clustered(seed=2, n=60)
    calc = AccuracyCalculator(include=("precision_at_1", "r_precision", "mean_average_precision_at_r"), k="max_bin_count")
    if with_reference:
        theirs = calc.get_accuracy(Q.astype(np.float32), qy, X.astype(np.float32), y, ref_includes_query=False)
        ours = retrieval_metrics(Q, qy, X, y, backend="exact")
    else:
        theirs = calc.get_accuracy(X.astype(np.float32), y)
        ours = retrieval_metrics(X, y, backend="exact")
    assert ours.precision_at_1 == pytest.approx(theirs["precision_at_1"], abs=1e-9)
    assert ours.r_precision == pytest.approx(theirs["r_precision"], abs=1e-9)
    assert ours.map_at_r == pytest.approx(theirs["mean_average_precision_at_r"], abs=1e-9)


def test_knn_vote_breaks_ties_towards_the_nearest():
    X = np.array([[0.0], [1.0], [2.0], [3.0], [4.0]])
    y = np.array([2, 1, 2, 2, 1])
    report = retrieval_metrics(X[:1], y[:1], X[1:], y[1:], n_neighbors=4, backend="exact")
    assert report.knn_accuracy == 0.0  # labels 1 and 2 tie 2-2; the nearest (label 1) wins, which is wrong for 2


def test_every_metric_averages_over_the_same_queries():
    X, y = _clustered(n=60)
    base = retrieval_metrics(X, y, n_neighbors=3, backend="exact")
    # two queries of labels no reference has: skipped by every metric alike, kNN accuracy included
    Q, qy = np.vstack([X[:10], [[50.0] * 5, [-50.0] * 5]]), np.concatenate([y[:10], [98, 99]])
    with_lone = retrieval_metrics(Q, qy, X, y, n_neighbors=3, backend="exact")
    without = retrieval_metrics(X[:10], y[:10], X, y, n_neighbors=3, backend="exact")
    assert (with_lone.n_queries, with_lone.n_skipped) == (10, 2)
    for field in ("precision_at_1", "r_precision", "map_at_r", "knn_accuracy"):
        assert getattr(with_lone, field) == getattr(without, field)
    assert 0 < base.knn_accuracy <= 1


def test_bad_inputs_are_named():
    X, y = _clustered(n=10)
    with pytest.raises(ValueError, match=r"`query_labels` must be 1-D with one label per row \(10\)"):
        retrieval_metrics(X, y[:5])
    with pytest.raises(ValueError, match="`backend` must be one of"):
        retrieval_metrics(X, y, backend="annoy")
    with pytest.raises(ValueError, match="`reference` has 3 features but 5 were expected"):
        retrieval_metrics(X, y, X[:, :3], y)
