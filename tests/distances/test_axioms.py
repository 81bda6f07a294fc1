import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from metrickit.distances import Mahalanobis, check_metric_axioms, euclidean_distances

_points = arrays(np.int64, st.tuples(st.integers(3, 12), st.just(3)), elements=st.integers(-5, 5), unique=False)


def _pd_matrix(draw_values) -> np.ndarray:
    A = np.asarray(draw_values, dtype=float).reshape(3, 3)
    return A.T @ A + 0.5 * np.eye(3)


@settings(deadline=None, max_examples=40)
@given(points=_points, values=st.lists(st.floats(-2, 2), min_size=9, max_size=9))
def test_positive_definite_mahalanobis_is_a_metric(points, values):
    X = np.unique(points.astype(float), axis=0)
    report = check_metric_axioms(Mahalanobis(_pd_matrix(values)).pairwise, X)
    assert report.is_metric, report.summary()


@settings(deadline=None, max_examples=25)
@given(points=_points)
def test_psd_only_mahalanobis_is_reported_as_pseudo_metric(points):
    X = np.unique(points.astype(float), axis=0)
    X = np.vstack([X, X[:1] + [0.0, 0.0, 1.0]])  # differs from X[0] only along the null direction
    metric = Mahalanobis(np.diag([1.0, 2.0, 0.0]))
    report = check_metric_axioms(metric.pairwise, X)
    assert report.is_pseudo_metric and not report.is_metric
    assert report.indiscernible >= 1


@settings(deadline=None, max_examples=25)
@given(points=_points)
def test_squared_euclidean_breaks_the_triangle_inequality(points):
    X = np.vstack([[0.0, 0.0, 0.0], [1.0, 0.0, 0.0], [2.0, 0.0, 0.0], points.astype(float)])
    report = check_metric_axioms(lambda A, B: euclidean_distances(A, B, squared=True), X)
    assert report.triangle > 0 and not report.is_pseudo_metric


def test_asymmetric_and_negative_functions_are_caught(rng):
    X = rng.normal(size=(10, 2))

    def skewed(A, B):
        D = euclidean_distances(A, B)
        return D + 3.0 * (A[:, :1] - B[:, 0][None, :])  # d(x, y) != d(y, x), some negative

    report = check_metric_axioms(skewed, X)
    assert report.asymmetric > 0 and report.negative > 0
    assert "asymmetric" in report.examples and "not a metric" in report.summary()


def test_nonzero_self_distance_is_caught(rng):
    X = rng.normal(size=(6, 2))
    report = check_metric_axioms(lambda A, B: euclidean_distances(A, B) + 1.0, X)
    assert report.nonzero_self == 6
