"""Shared behaviour of linear metric learners: the learned map ``L`` (``components_``) and its metric."""

from __future__ import annotations

import numpy as np
from sklearn.utils.validation import check_is_fitted, validate_data

from metrickit.distances.mahalanobis import Mahalanobis

__all__ = ["MahalanobisMixin"]


class MahalanobisMixin:
    """Mixin for estimators that learn ``L`` (``components_``, shape (n_components, n_features)).

    The learned distance is ``d(x, y) = ||L (x - y)||``, i.e. Mahalanobis with ``M = L^T L``.
    """

    components_: np.ndarray

    def transform(self, X: np.ndarray) -> np.ndarray:
        """Map ``X`` (n_samples, n_features) into the learned space, ``X L^T`` (n_samples, n_components)."""
        check_is_fitted(self, "components_")
        X = validate_data(self, X, reset=False, dtype=np.float64, ensure_all_finite=True)
        return X @ self.components_.T

    def get_mahalanobis_matrix(self) -> np.ndarray:
        """The learned ``M = L^T L``, shape (n_features, n_features) (a new array)."""
        check_is_fitted(self, "components_")
        return self.components_.T @ self.components_

    def get_metric(self) -> Mahalanobis:
        """The learned distance as a :class:`~metrickit.distances.Mahalanobis` object."""
        check_is_fitted(self, "components_")
        return Mahalanobis(L=self.components_)

    def pair_distance(self, X1: np.ndarray, X2: np.ndarray, *, squared: bool = False) -> np.ndarray:
        """Learned distance between ``X1[i]`` and ``X2[i]`` for every ``i``; shape (n_pairs,)."""
        return self.get_metric().paired(X1, X2, squared=squared)
