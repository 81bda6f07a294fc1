import re

import numpy as np
import pytest
from scipy.spatial.distance import cdist

from metrickit.distances import (
    euclidean_distances,
    mahalanobis_distances,
    paired_euclidean_distances,
    paired_mahalanobis_distances,
    top_k_neighbors,
)


@pytest.mark.parametrize("working_memory", [1e-4, 0.01, None])
@pytest.mark.parametrize("squared", [False, True])
def test_euclidean_matches_scipy_in_any_block_size(rng, working_memory, squared):
    X, Y = rng.normal(size=(37, 5)) + 100.0, rng.normal(size=(23, 5)) + 100.0
    expected = cdist(X, Y, "sqeuclidean" if squared else "euclidean")
    np.testing.assert_allclose(euclidean_distances(X, Y, squared=squared, working_memory=working_memory), expected, atol=1e-9)


def test_euclidean_self_distances_have_exact_zero_diagonal(rng):
    X = rng.normal(size=(40, 3)) * 1e3
    D = euclidean_distances(X, working_memory=1e-3)
    assert np.all(np.diag(D) == 0.0)
    np.testing.assert_allclose(D, cdist(X, X), atol=1e-8)


def test_mahalanobis_from_M_and_from_L_agree_with_scipy(rng):
    X, Y = rng.normal(size=(30, 4)), rng.normal(size=(20, 4))
    A = rng.normal(size=(4, 4))
    M = A.T @ A
    expected = cdist(X, Y, "mahalanobis", VI=M)
    np.testing.assert_allclose(mahalanobis_distances(X, Y, M=M, working_memory=1e-3), expected, atol=1e-9)
    np.testing.assert_allclose(mahalanobis_distances(X, Y, L=A), expected, atol=1e-9)


def test_rectangular_L_gives_low_rank_distances(rng):
    X, Y = rng.normal(size=(10, 5)), rng.normal(size=(10, 5))
    L = rng.normal(size=(2, 5))
    expected = np.linalg.norm((X - Y) @ L.T, axis=1)
    np.testing.assert_allclose(paired_mahalanobis_distances(X, Y, L=L), expected, atol=1e-12)


def test_paired_distances_match_rowwise_norms(rng):
    X, Y = rng.normal(size=(50, 6)), rng.normal(size=(50, 6))
    np.testing.assert_allclose(paired_euclidean_distances(X, Y, working_memory=1e-4), np.linalg.norm(X - Y, axis=1))
    np.testing.assert_allclose(paired_euclidean_distances(X, Y, squared=True), ((X - Y) ** 2).sum(1))


def test_paired_distances_reject_different_lengths(rng):
    with pytest.raises(ValueError, match=re.escape("`X` and `Y` must have the same number of rows; got 3 and 4.")):
        paired_euclidean_distances(rng.normal(size=(3, 2)), rng.normal(size=(4, 2)))


def test_mahalanobis_needs_exactly_one_of_M_and_L(rng):
    with pytest.raises(ValueError, match="exactly one of `M`"):
        mahalanobis_distances(rng.normal(size=(3, 2)))


def test_mismatched_dimensions_name_the_argument(rng):
    with pytest.raises(ValueError, match=re.escape("`Y` has 3 features but 2 were expected")):
        euclidean_distances(rng.normal(size=(4, 2)), rng.normal(size=(4, 3)))
    with pytest.raises(ValueError, match=re.escape("`X` has 3 features but 2 were expected")):
        mahalanobis_distances(rng.normal(size=(4, 3)), M=np.eye(2))


def test_nan_input_is_rejected_with_counts(rng):
    X = rng.normal(size=(5, 2))
    X[1, 1] = np.nan
    with pytest.raises(ValueError, match=re.escape("`X` must contain only finite values; found 1 NaN and 0 infinite")):
        euclidean_distances(X)


@pytest.mark.parametrize("working_memory", [1e-4, None])
def test_top_k_matches_brute_force_and_excludes_self(rng, working_memory):
    X = rng.normal(size=(60, 3))
    result = top_k_neighbors(X, n_neighbors=4, working_memory=working_memory)
    D = cdist(X, X)
    np.fill_diagonal(D, np.inf)
    order = np.argsort(D, axis=1, kind="stable")[:, :4]
    np.testing.assert_array_equal(result.indices, order)
    np.testing.assert_allclose(result.distances, np.take_along_axis(D, order, axis=1), atol=1e-10)


def test_top_k_against_another_set_breaks_ties_by_index():
    X = np.array([[0.0]])
    Y = np.array([[1.0], [-1.0], [1.0], [3.0]])
    result = top_k_neighbors(X, Y, n_neighbors=3)
    np.testing.assert_array_equal(result.indices, [[0, 1, 2]])


def test_top_k_never_allocates_the_full_matrix(rng):
    import tracemalloc

    X = rng.normal(size=(4000, 8))
    tracemalloc.start()
    top_k_neighbors(X, n_neighbors=5, working_memory=1.0)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert peak < 4000 * 4000 * 8 / 4  # the full matrix would be 128 MB


def test_top_k_rejects_more_neighbours_than_points(rng):
    X = rng.normal(size=(5, 2))
    with pytest.raises(ValueError, match=re.escape("`n_neighbors` (5) is larger than the number of candidate neighbours (4")):
        top_k_neighbors(X, n_neighbors=5)


@pytest.mark.parametrize("n_neighbors", [1, 3, 8, 9, 20])
def test_top_k_small_and_large_k_paths_agree_with_sorting(rng, n_neighbors):
    # 32 integer points: the mean is a multiple of 1/32, so centred distances are exact and ties stay ties.
    X = rng.integers(0, 4, size=(32, 2)).astype(float)
    result = top_k_neighbors(X, n_neighbors=n_neighbors, squared=True)
    D = cdist(X, X, "sqeuclidean")
    np.fill_diagonal(D, np.inf)
    order = np.lexsort((np.broadcast_to(np.arange(32), D.shape), D), axis=1)[:, :n_neighbors]
    np.testing.assert_array_equal(result.indices, order)
