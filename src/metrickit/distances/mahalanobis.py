"""The Mahalanobis metric ``d_M(x, y) = sqrt((x - y)^T M (x - y))`` for positive semi-definite ``M``."""

from __future__ import annotations

import numpy as np

from metrickit._validation import check_array_2d, check_finite
from metrickit.distances import functional as F
from metrickit.distances.psd import check_psd_matrix, components_from_matrix, components_of

__all__ = ["Mahalanobis"]


class Mahalanobis:
    """A Mahalanobis (pseudo-)metric, from ``M`` or from a linear map ``L`` with ``M = L^T L``.

    The distance is Euclidean distance after ``x -> L x``; ``L`` may be rectangular
    (``n_components x n_features``), which gives a low-rank ``M``.

    Parameters
    ----------
    M : array-like of shape (n_features, n_features), default=None
        Symmetric positive semi-definite matrix.
    L : array-like of shape (n_components, n_features), default=None
        Linear map; pass exactly one of ``M`` and ``L``.
    tol : float, default=1e-8
        Relative tolerance of the symmetry and PSD checks of ``M``.

    Examples
    --------
    >>> import numpy as np
    >>> metric = Mahalanobis(np.diag([4.0, 1.0]))
    >>> round(float(metric.paired([[0.0, 0.0]], [[1.0, 1.0]])[0]) ** 2, 6)
    5.0
    """

    def __init__(self, M: np.ndarray | None = None, *, L: np.ndarray | None = None, tol: float = 1e-8):
        if M is not None and L is None:
            self.matrix = check_psd_matrix(M, tol=tol)
            self.components = components_from_matrix(self.matrix)
        else:
            self.components = components_of(M, L, tol=tol)  # refuses anything but exactly one of M and L
            self.matrix = self.components.T @ self.components

    @classmethod
    def from_diagonal(cls, weights: np.ndarray) -> "Mahalanobis":
        """Weighted Euclidean distance ``sqrt(sum_k w_k (x_k - y_k)^2)``, i.e. ``M = diag(weights)``."""
        w = check_finite(np.asarray(weights, dtype=np.float64), "weights")
        if w.ndim != 1:
            raise ValueError(f"`weights` must be 1-D; got shape {w.shape}.")
        if np.any(w < 0):
            bad = int(np.argmin(w))
            raise ValueError(f"`weights` must be non-negative; weights[{bad}] = {w[bad]:g}.")
        return cls(L=np.diag(np.sqrt(w)))

    @property
    def n_features(self) -> int:
        """Dimension of the input space."""
        return self.components.shape[1]

    @property
    def is_positive_definite(self) -> bool:
        """True when ``M`` is full rank, so that ``d(x, y) = 0`` only for ``x = y`` (a metric, not a pseudo-metric)."""
        if self.components.shape[0] < self.n_features:
            return False
        eig = np.linalg.eigvalsh(self.matrix)
        return bool(eig[0] > 1e-12 * max(1.0, eig[-1]))

    def transform(self, X: np.ndarray) -> np.ndarray:
        """Map ``X`` (n_samples, n_features) to ``X L^T`` (n_samples, n_components)."""
        return check_array_2d(X, "X", n_features=self.n_features) @ self.components.T

    def pairwise(
        self, X: np.ndarray, Y: np.ndarray | None = None, *, squared: bool = False, working_memory: float | None = None
    ) -> np.ndarray:
        """Distances between every row of ``X`` and of ``Y``; shape (n_samples_X, n_samples_Y)."""
        return F.mahalanobis_distances(X, Y, L=self.components, squared=squared, working_memory=working_memory)

    def paired(
        self, X: np.ndarray, Y: np.ndarray, *, squared: bool = False, working_memory: float | None = None
    ) -> np.ndarray:
        """Distance between ``X[i]`` and ``Y[i]``; shape (n_samples,)."""
        return F.paired_mahalanobis_distances(X, Y, L=self.components, squared=squared, working_memory=working_memory)

    def __call__(self, x: np.ndarray, y: np.ndarray) -> float:
        """Distance between two single points (for ``KNeighborsClassifier(metric=...)``); prefer :meth:`pairwise`."""
        diff = self.components @ (np.asarray(x, dtype=np.float64) - np.asarray(y, dtype=np.float64))
        return float(np.sqrt(diff @ diff))

    def __repr__(self) -> str:
        r, d = self.components.shape
        return f"Mahalanobis(n_components={r}, n_features={d})"


