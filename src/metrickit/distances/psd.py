"""Positive semi-definite matrices and the linear maps behind them (``M = L^T L``): the leaf both the distance
functions and :class:`~metrickit.distances.Mahalanobis` build on."""

from __future__ import annotations

import numpy as np

from metrickit._validation import check_finite

__all__ = ["check_psd_matrix", "components_from_matrix", "components_of"]


def check_psd_matrix(M: np.ndarray, *, name: str = "M", tol: float = 1e-8) -> np.ndarray:
    """Return ``M`` as a symmetric float array, or raise if it is not square, symmetric and PSD.

    Symmetry is checked to ``tol`` relative to the largest entry; eigenvalues down to
    ``-tol * max(1, largest |eigenvalue|)`` count as zero (rounding), anything lower is an error
    that quotes the most negative eigenvalue.
    """
    M = np.asarray(M)
    if M.ndim != 2 or M.shape[0] != M.shape[1]:
        raise ValueError(f"`{name}` must be a square 2-D matrix; got shape {M.shape}.")
    M = check_finite(np.asarray(M, dtype=np.float64), name)
    scale = max(1.0, float(np.abs(M).max(initial=0.0)))
    asym = float(np.abs(M - M.T).max(initial=0.0))
    if asym > tol * scale:
        raise ValueError(
            f"`{name}` must be symmetric; the largest |M - M^T| entry is {asym:.3g} (tolerance {tol * scale:.3g})."
        )
    M = (M + M.T) / 2.0
    eigvals = np.linalg.eigvalsh(M)
    lowest = float(eigvals[0]) if len(eigvals) else 0.0
    if lowest < -tol * max(1.0, float(np.abs(eigvals).max(initial=0.0))):
        raise ValueError(
            f"`{name}` must be positive semi-definite; its most negative eigenvalue is {lowest:.6g}."
        )
    return M


def components_from_matrix(M: np.ndarray) -> np.ndarray:
    """A square ``L`` with ``L^T L = M`` for a PSD ``M`` (``L = sqrt(Lambda) V^T``, rounding negatives to 0)."""
    eigvals, eigvecs = np.linalg.eigh(M)
    return np.sqrt(np.clip(eigvals, 0.0, None))[:, None] * eigvecs.T


def components_of(M: np.ndarray | None, L: np.ndarray | None, *, tol: float = 1e-8) -> np.ndarray:
    """The linear map ``L`` (n_components, n_features) of a Mahalanobis metric given by exactly one of ``M`` or ``L``."""
    if (M is None) == (L is None):
        raise ValueError("Pass exactly one of `M` (the PSD matrix) or `L` (the linear map, M = L^T L).")
    if M is not None:
        return components_from_matrix(check_psd_matrix(M, tol=tol))
    L = np.asarray(L, dtype=np.float64)
    if L.ndim != 2:
        raise ValueError(f"`L` must be 2-D (n_components, n_features); got shape {L.shape}.")
    return check_finite(np.ascontiguousarray(L), "L")
