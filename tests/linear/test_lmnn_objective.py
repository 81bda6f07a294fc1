import numpy as np
import pytest
from scipy.optimize import check_grad

from metrickit.linear import lmnn_objective
from metrickit._threads import Workers
from metrickit.linear import _lmnn_objective
from metrickit.linear._lmnn_objective import (
    Laplacian,
    PairGraph,
    find_impostors,
    lmnn_radius,
    loss_and_grad,
    objective_on_pairs,
    select_target_neighbors,
    target_distances,
)
from tests._reference import lmnn_objective_bruteforce


def _problem(rng, n=40, d=4, n_classes=3):
    X = rng.normal(size=(n, d))
    y = rng.integers(0, n_classes, size=n)
    return X, y


def _candidate_graph(X, y, L, radius_factor=1.0):
    """Targets (k=3), the impostor pairs within ``radius_factor`` x the LMNN radius at ``L``, and their graph."""
    targets, _ = select_target_neighbors(X, y, 3)
    Z = X @ L.T
    pairs, _ = find_impostors(Z, y, lmnn_radius(target_distances(Z, targets), targets, 1.0) * radius_factor)
    return targets, pairs, PairGraph(X, targets, pairs)


@pytest.mark.parametrize("push_weight", [0.0, 0.3, 0.5, 0.9])
def test_objective_matches_bruteforce_loops(rng, push_weight):
    X, y = _problem(rng)
    L = rng.normal(size=(2, 4))
    expected = lmnn_objective_bruteforce(X, y, L, 3, 1.0, push_weight)
    assert lmnn_objective(X, y, L=L, push_weight=push_weight) == pytest.approx(expected, rel=1e-10)


def test_objective_from_M_equals_objective_from_L(rng):
    X, y = _problem(rng)
    L = rng.normal(size=(4, 4))
    assert lmnn_objective(X, y, M=L.T @ L, margin=2.0) == pytest.approx(lmnn_objective(X, y, L=L, margin=2.0), rel=1e-9)


def test_objective_handles_small_classes_and_singletons(rng):
    X = rng.normal(size=(12, 3))
    y = np.array(["a"] * 6 + ["b"] * 3 + ["c"] * 2 + ["d"])
    L = rng.normal(size=(3, 3))
    expected = lmnn_objective_bruteforce(X, y, L, 3, 1.0, 0.5)
    assert lmnn_objective(X, y, L=L) == pytest.approx(expected, rel=1e-10)


def test_target_neighbours_use_size_minus_one_in_small_classes(rng):
    X = rng.normal(size=(7, 2))
    y = np.array([0, 0, 0, 0, 1, 1, 2])
    targets, small = select_target_neighbors(X, y, 3)
    assert small == [1, 2]
    np.testing.assert_array_equal(targets.mask.sum(axis=1), [3, 3, 3, 3, 1, 1, 0])
    assert set(targets.indices[4][targets.mask[4]]) == {5}


def test_impostor_search_is_exact_despite_float32_search(rng):
    X, y = _problem(rng, n=300, d=6)
    Z = X + 1000.0  # large offset: float32 alone would misjudge borderline pairs
    radius = rng.uniform(0.5, 3.0, size=300)
    pairs, d2 = find_impostors(Z, y, radius, working_memory=0.05)
    D = ((Z[:, None, :] - Z[None, :, :]) ** 2).sum(-1)
    expected = (D < radius[:, None]) & (y[:, None] != y[None, :])
    got = np.zeros_like(expected)
    got[pairs.anchors, pairs.others] = True
    np.testing.assert_array_equal(got, expected)
    np.testing.assert_allclose(d2, D[pairs.anchors, pairs.others], rtol=1e-9)
    assert np.all(np.diff(pairs.anchors) >= 0)


@pytest.mark.parametrize("smoothing", [0.0, 0.3])
def test_gradient_matches_finite_differences(rng, smoothing):
    X, y = _problem(rng, n=50, d=5)
    L = rng.normal(size=(3, 5))
    targets, pairs, graph = _candidate_graph(X, y, L, radius_factor=4.0)

    def f(flat):
        return loss_and_grad(flat.reshape(L.shape), X, targets, pairs, graph, 1.0, 0.5, smoothing=smoothing)[0]

    def g(flat):
        return loss_and_grad(flat.reshape(L.shape), X, targets, pairs, graph, 1.0, 0.5, smoothing=smoothing)[1].ravel()

    err = check_grad(f, g, L.ravel(), epsilon=1e-7)
    assert err < 1e-4 * np.linalg.norm(g(L.ravel()))


def test_restricted_objective_equals_exact_when_pairs_cover_the_radius(rng):
    X, y = _problem(rng)
    targets, _ = select_target_neighbors(X, y, 3)
    L = rng.normal(size=(4, 4))
    Z = X @ L.T
    d_target = target_distances(Z, targets)
    pairs, d_pairs = find_impostors(Z, y, lmnn_radius(d_target, targets, 1.0) * 2.0)
    value, _ = objective_on_pairs(d_target, targets, pairs, d_pairs, 1.0, 0.5)
    assert value == pytest.approx(lmnn_objective_bruteforce(X, y, L, 3, 1.0, 0.5), rel=1e-10)
    loss, _ = loss_and_grad(L, X, targets, pairs, PairGraph(X, targets, pairs), 1.0, 0.5)
    assert loss == pytest.approx(value, rel=1e-12)


def test_objective_rejects_label_length_mismatch(rng):
    X, y = _problem(rng)
    with pytest.raises(ValueError, match="`y` must be 1-D with one label per row of `X`"):
        lmnn_objective(X, y[:-1], L=np.eye(4))


def test_smoothed_hinge_is_below_the_hinge_by_at_most_half_the_width_per_triplet(rng):
    X, y = _problem(rng)
    L = rng.normal(size=(4, 4))
    targets, pairs, graph = _candidate_graph(X, y, L)
    exact, _ = loss_and_grad(L, X, targets, pairs, graph, 1.0, 0.5)
    smooth, _ = loss_and_grad(L, X, targets, pairs, graph, 1.0, 0.5, smoothing=0.2)
    n_terms = len(pairs) * 3
    assert exact - 0.5 * 0.1 * n_terms <= smooth <= exact


def test_smoothed_loss_is_finite_with_padded_targets(rng):
    X = rng.normal(size=(12, 3))
    y = np.array([0] * 6 + [1] * 3 + [2] * 2 + [3])  # classes smaller than n_neighbors + 1: padded targets
    L = rng.normal(size=(3, 3))
    targets, pairs, graph = _candidate_graph(X, y, L, radius_factor=3.0)
    assert not targets.mask.all()
    with np.errstate(all="raise"):
        loss, grad = loss_and_grad(L, X, targets, pairs, graph, 1.0, 0.5, smoothing=0.1)
    assert np.isfinite(loss) and np.all(np.isfinite(grad))


def test_best_scale_minimises_the_exact_objective_along_the_ray(rng):
    from metrickit.linear._lmnn_problem import LMNNProblem

    X, y = _problem(rng, n=60, d=3)
    X = X * 3.0
    targets, _ = select_target_neighbors(X, y, 3)
    problem = LMNNProblem(X, y, targets, margin=1.0, push_weight=0.5)
    L0 = problem.rescale_to_margin(rng.normal(size=(3, 3)))  # as fit() does
    L, start = problem.best_scale(L0)
    best = lmnn_objective(X, y, L=L)
    assert start is not None and start[0] == pytest.approx(best, rel=1e-9)  # the reused search is exact there
    grid = np.geomspace(1e-3, 10.0, 400)
    on_grid = [lmnn_objective(X, y, L=np.sqrt(t) * L0) for t in grid]
    assert best <= min(on_grid) * (1 + 1e-9)


@pytest.mark.parametrize("smoothing", [0.0, 0.2])
def test_streaming_evaluation_equals_the_stored_one(rng, smoothing):
    from metrickit.linear._lmnn_objective import streaming_loss_and_grad

    X, y = _problem(rng, n=80, d=4)
    L = rng.normal(size=(3, 4))
    targets, pairs, graph = _candidate_graph(X, y, L)
    stored, stored_grad = loss_and_grad(L, X, targets, pairs, graph, 1.0, 0.5, smoothing=smoothing)
    streamed, streamed_grad, _ = streaming_loss_and_grad(L, X, y, targets, 1.0, 0.5, working_memory=1e-3, smoothing=smoothing)
    assert streamed == pytest.approx(stored, rel=1e-12)
    np.testing.assert_allclose(streamed_grad, stored_grad, rtol=1e-10, atol=1e-10)


def test_impostor_budget_is_enforced(rng):
    from metrickit.linear._lmnn_objective import ImpostorBudgetExceeded

    X, y = _problem(rng, n=100, d=2)
    with pytest.raises(ImpostorBudgetExceeded):
        find_impostors(X, y, np.full(100, 1e6), max_pairs=10)


@pytest.mark.parametrize("n_threads", [1, 3])
def test_laplacian_matches_dense_with_reverse_pairs(rng, monkeypatch, n_threads):
    monkeypatch.setattr(_lmnn_objective, "_MIN_BLOCK_ENTRIES", 10)  # several row blocks even when small
    n, m = 30, 200
    rows, cols = rng.integers(0, n, m), rng.integers(0, n, m)
    rows[:20], cols[:20] = cols[20:40], rows[20:40]  # pairs whose reverse also occurs
    weights = rng.normal(size=m)
    X, Z = rng.normal(size=(n, 4)), rng.normal(size=(n, 3))
    W = np.zeros((n, n))
    np.add.at(W, (rows, cols), weights)
    dense = np.diag(W.sum(0) + W.sum(1)) - W - W.T
    with Workers(n_threads) as workers:
        lap = Laplacian(rows, cols, X, workers)
        assert len(lap.blocks) == n_threads
        np.testing.assert_allclose(lap.product(weights), dense @ X, atol=1e-12)
        np.testing.assert_allclose(lap.outer_sum(weights, Z), Z.T @ dense @ X, atol=1e-12)
    lap = Laplacian(rows, cols, X)
    np.testing.assert_allclose(lap.product(weights), dense @ X, atol=1e-12)
    np.testing.assert_allclose(lap.outer_sum(weights, Z), Z.T @ dense @ X, atol=1e-12)
    expected = sum(w * np.outer(Z[a] - Z[b], X[a] - X[b]) for a, b, w in zip(rows, cols, weights))
    np.testing.assert_allclose(lap.outer_sum(weights, Z), expected, atol=1e-12)
