import re

import numpy as np
import pytest

from metrickit.distances import Mahalanobis, check_psd_matrix


def test_L_and_M_constructions_give_the_same_metric(rng):
    L = rng.normal(size=(3, 3))
    X, Y = rng.normal(size=(8, 3)), rng.normal(size=(8, 3))
    np.testing.assert_allclose(Mahalanobis(L.T @ L).paired(X, Y), Mahalanobis(L=L).paired(X, Y), atol=1e-10)


def test_diagonal_weights_are_weighted_euclidean(rng):
    w = np.array([4.0, 0.0, 1.0])
    X, Y = rng.normal(size=(6, 3)), rng.normal(size=(6, 3))
    expected = np.sqrt(((X - Y) ** 2 * w).sum(axis=1))
    metric = Mahalanobis.from_diagonal(w)
    np.testing.assert_allclose(metric.paired(X, Y), expected, atol=1e-12)
    assert not metric.is_positive_definite


def test_call_on_two_points_matches_paired(rng):
    metric = Mahalanobis(np.diag([2.0, 3.0]))
    x, y = rng.normal(size=2), rng.normal(size=2)
    assert metric(x, y) == pytest.approx(metric.paired(x[None], y[None])[0])


def test_non_psd_matrix_error_quotes_the_most_negative_eigenvalue():
    with pytest.raises(ValueError, match=re.escape("`M` must be positive semi-definite; its most negative eigenvalue is -0.5.")):
        Mahalanobis(np.diag([1.0, -0.5]))


def test_non_symmetric_matrix_is_rejected():
    with pytest.raises(ValueError, match=re.escape("`M` must be symmetric; the largest |M - M^T| entry is 2")):
        check_psd_matrix(np.array([[1.0, 1.0], [-1.0, 1.0]]))


def test_non_square_matrix_is_rejected():
    with pytest.raises(ValueError, match=re.escape("`M` must be a square 2-D matrix; got shape (2, 3).")):
        Mahalanobis(np.ones((2, 3)))


def test_negative_weights_are_rejected():
    with pytest.raises(ValueError, match=re.escape("`weights` must be non-negative; weights[1] = -1.")):
        Mahalanobis.from_diagonal([1.0, -1.0])


def test_rounding_level_negative_eigenvalues_are_accepted(rng):
    A = rng.normal(size=(2, 4))
    M = A.T @ A  # rank 2, eigenvalues ~ +-1e-16
    metric = Mahalanobis(M)
    assert not metric.is_positive_definite
    np.testing.assert_allclose(metric.matrix, M, atol=1e-12)
