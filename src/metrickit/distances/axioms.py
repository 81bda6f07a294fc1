"""Check the metric axioms of any distance function on a sample of points."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from metrickit._validation import check_array_2d, check_real

__all__ = ["AxiomReport", "check_metric_axioms"]

PairwiseDistance = Callable[[np.ndarray, np.ndarray], np.ndarray]


@dataclass(frozen=True)
class AxiomReport:
    """Violations of each metric axiom found on a sample (counts; examples as index tuples).

    ``is_pseudo_metric`` holds when non-negativity, ``d(x, x) = 0``, symmetry and the triangle
    inequality all hold; ``is_metric`` additionally needs identity of indiscernibles
    (``d(x, y) = 0`` only when ``x = y``), which a Mahalanobis distance has only for positive-definite ``M``.
    """

    n_points: int
    tolerance: float
    negative: int
    nonzero_self: int
    asymmetric: int
    triangle: int
    indiscernible: int
    examples: dict[str, list[tuple[int, ...]]] = field(default_factory=dict)

    @property
    def is_pseudo_metric(self) -> bool:
        return self.negative == self.nonzero_self == self.asymmetric == self.triangle == 0

    @property
    def is_metric(self) -> bool:
        return self.is_pseudo_metric and self.indiscernible == 0

    def summary(self) -> str:
        """One line: the verdict and every violation count."""
        verdict = "metric" if self.is_metric else "pseudo-metric" if self.is_pseudo_metric else "not a metric"
        return (
            f"{verdict} on {self.n_points} points (tolerance {self.tolerance:.3g}): "
            f"{self.negative} negative, {self.nonzero_self} non-zero self-distances, "
            f"{self.asymmetric} asymmetric pairs, {self.triangle} triangle violations, "
            f"{self.indiscernible} distinct pairs at distance 0"
        )


def check_metric_axioms(
    distance: PairwiseDistance,
    X: np.ndarray,
    *,
    rtol: float = 1e-7,
    max_examples: int = 5,
    block_size: int = 64,
) -> AxiomReport:
    """Evaluate ``distance`` on all pairs and triples of the rows of ``X`` and count axiom violations.

    Parameters
    ----------
    distance : callable
        ``distance(A, B)`` returns the (len(A), len(B)) matrix of distances between rows, e.g.
        ``Mahalanobis(M).pairwise`` or ``metrickit.distances.euclidean_distances``.
    X : array-like of shape (n_points, n_features)
        The sample; triples are checked exhaustively, in blocks, so keep it to a few hundred points.
    rtol : float, default=1e-7
        A violation must exceed ``rtol`` times the largest distance in the sample (rounding slack).
    max_examples : int, default=5
        How many offending index tuples to keep per axiom.
    block_size : int, default=64
        Rows of the triangle check handled at once (memory ``block_size * n_points**2``).

    Returns
    -------
    AxiomReport
    """
    X = check_array_2d(X, "X")
    rtol = check_real(rtol, "rtol", low=0.0)
    D = np.asarray(distance(X, X), dtype=np.float64)  # (n, n)
    n = len(X)
    if D.shape != (n, n):
        raise ValueError(f"`distance(X, X)` must return shape ({n}, {n}); got {D.shape}.")
    tol = rtol * max(float(np.nanmax(np.abs(D), initial=0.0)), np.finfo(float).tiny)
    examples: dict[str, list[tuple[int, ...]]] = {}

    def record(name: str, mask: np.ndarray, offset: tuple[int, ...] = ()) -> int:
        hits = np.argwhere(mask)
        if len(hits):
            shifted = [tuple(int(v) + o for v, o in zip(h, offset or (0,) * len(h))) for h in hits[:max_examples]]
            examples.setdefault(name, []).extend(shifted)
            examples[name] = examples[name][:max_examples]
        return len(hits)

    negative = record("negative", D < -tol)
    nonzero_self = record("nonzero_self", np.abs(np.diag(D))[:, None] > tol)
    upper = np.triu(np.ones((n, n), dtype=bool), 1)
    asymmetric = record("asymmetric", (np.abs(D - D.T) > tol) & upper)
    identical = np.all(X[:, None, :] == X[None, :, :], axis=-1) if n <= 2048 else _identical_rows(X)
    indiscernible = record("indiscernible", (np.abs(D) <= tol) & ~identical & upper)
    triangle = 0
    for start in range(0, n, block_size):
        # d(i, k) > d(i, j) + d(j, k) for i in the block: (b, n_j, n_k)
        Db = D[start : start + block_size]
        excess = Db[:, None, :] - Db[:, :, None] - D[None, :, :]
        triangle += record("triangle", excess > tol, (start, 0, 0))
    return AxiomReport(n, tol, negative, nonzero_self, asymmetric, triangle, indiscernible, examples)


def _identical_rows(X: np.ndarray) -> np.ndarray:
    _, inverse = np.unique(X, axis=0, return_inverse=True)
    return inverse[:, None] == inverse[None, :]
