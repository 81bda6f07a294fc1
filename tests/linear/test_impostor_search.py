import numpy as np
import pytest

from metrickit.linear import _impostor_search
from metrickit._threads import Workers, blas_threads
from metrickit.linear._impostor_search import ImpostorPairs, iter_impostors, impostor_distances


def _brute_force(Z, y, radius):
    D = ((Z[:, None, :] - Z[None, :, :]) ** 2).sum(-1)
    return (D < radius[:, None]) & (y[:, None] != y[None, :]), D


def _collect(blocks):
    blocks = list(blocks)
    anchors = np.concatenate([pairs.anchors for pairs, _ in blocks])
    others = np.concatenate([pairs.others for pairs, _ in blocks])
    return anchors, others, np.concatenate([d2 for _, d2 in blocks]), len(blocks)


@pytest.mark.parametrize("n_threads", [1, 3])
def test_tiled_search_finds_exactly_the_impostors(rng, n_threads):
    # Unsorted labels, uneven classes, anchors without targets (radius -inf) and a tiny budget: many
    # tiles, some inside one class (skipped), some straddling two (masked), read by rows and columns.
    n = 333
    y = rng.choice([0, 1, 1, 2, 5, 5, 5], size=n)
    Z = rng.normal(size=(n, 5)) + 100.0  # an offset float32 alone would misjudge
    radius = rng.uniform(1.0, 8.0, size=n)
    radius[::17] = -np.inf
    expected, D = _brute_force(Z, y, radius)
    anchors, others, d2, n_blocks = _collect(iter_impostors(Z, y, radius, working_memory=0.05, n_threads=n_threads))
    got = np.zeros_like(expected)
    got[anchors, others] = True
    assert len(anchors) == expected.sum()  # no pair twice
    np.testing.assert_array_equal(got, expected)
    np.testing.assert_allclose(d2, D[anchors, others], rtol=1e-12)
    assert n_blocks > 1  # the budget splits the output


def test_pair_order_does_not_depend_on_the_thread_count(rng):
    y = rng.integers(0, 4, size=400)
    Z = rng.normal(size=(400, 3))
    radius = np.full(400, 2.0)
    one = _collect(iter_impostors(Z, y, radius, working_memory=0.05, n_threads=1))
    many = _collect(iter_impostors(Z, y, radius, working_memory=0.05, n_threads=4))
    for a, b in zip(one[:3], many[:3]):
        np.testing.assert_array_equal(a, b)


def test_screen_bound_covers_float32_rounding_at_the_radius(rng):
    # Radii a hair above true distances: float32 screening must not drop these pairs.
    n = 200
    y = np.repeat([0, 1], n // 2)
    Z = rng.normal(size=(n, 30)) * 1e3
    D = ((Z[:, None, :] - Z[None, :, :]) ** 2).sum(-1)
    partner = np.where(y == 0, n - 1, 0)
    radius = D[np.arange(n), partner] * (1.0 + 1e-12)  # float32 screening errs by ~1e-7 of the norms
    expected, _ = _brute_force(Z, y, radius)
    anchors, others, _, _ = _collect(iter_impostors(Z, y, radius, n_threads=2))
    got = np.zeros_like(expected)
    got[anchors, others] = True
    np.testing.assert_array_equal(got, expected)
    assert expected[np.arange(n), partner].all()


def test_single_class_and_tiny_inputs_yield_nothing(rng):
    Z = rng.normal(size=(50, 3))
    assert list(iter_impostors(Z, np.zeros(50, dtype=int), np.full(50, 1e9))) == []
    assert list(iter_impostors(Z[:1], np.zeros(1, dtype=int), np.full(1, 1e9))) == []


@pytest.mark.parametrize("n_threads", [1, 2])
def test_pair_distances_in_blocks(rng, monkeypatch, n_threads):
    monkeypatch.setattr(_impostor_search, "STREAM_MIB", 1e-3)  # many blocks
    Z = rng.normal(size=(60, 4))
    pairs = ImpostorPairs(rng.integers(0, 60, 500), rng.integers(0, 60, 500))
    expected = ((Z[pairs.anchors] - Z[pairs.others]) ** 2).sum(1)
    with Workers(n_threads) as workers:
        np.testing.assert_allclose(impostor_distances(Z, pairs, workers=workers), expected, rtol=1e-12)


def test_blas_threads_follows_threadpool_limits():
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1, user_api="blas"):
        assert blas_threads() == 1
