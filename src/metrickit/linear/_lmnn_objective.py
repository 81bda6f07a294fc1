"""The LMNN objective of Weinberger & Saul, its gradient, and the neighbour and impostor searches.

Notation: ``mu = push_weight``; target neighbours ``j ~> i`` are fixed; ``d2`` is the squared
distance after the linear map ``L`` (``M = L^T L``)::

    eps(M) = (1 - mu) sum_{i, j~>i} d2(i, j)
             + mu sum_{i, j~>i, l: y_l != y_i} [margin + d2(i, j) - d2(i, l)]_+

Triplets are never listed. For each anchor ``i`` only points ``l`` of another class inside the
radius ``max_j d2(i, j) + margin`` can make a hinge positive; those *impostor pairs* (i, l) are
found by a blockwise search, and each pair is scored against all targets of ``i`` at once
(an (n_pairs, n_neighbors) array). Gradients use a sparse graph Laplacian, so the cost per
evaluation is O(n_pairs * n_features + n_samples * n_components * n_features).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from metrickit.distances.functional import block_slices, top_k_neighbors

__all__ = [
    "ImpostorPairs",
    "PairGraph",
    "TargetNeighbors",
    "find_impostors",
    "lmnn_radius",
    "loss_and_grad",
    "objective_on_pairs",
    "pair_distances",
    "select_target_neighbors",
    "target_distances",
]

_FLOAT32_EPS = float(np.finfo(np.float32).eps)


@dataclass(frozen=True)
class TargetNeighbors:
    """Target neighbours of every point: ``indices`` (n_samples, n_neighbors), padded where ``mask`` is False."""

    indices: np.ndarray
    mask: np.ndarray

    @property
    def n_pairs(self) -> int:
        return int(self.mask.sum())

    def safe_indices(self) -> np.ndarray:
        """Indices with padding replaced by the point itself (distance 0, masked out later)."""
        return np.where(self.mask, self.indices, np.arange(len(self.indices))[:, None])


@dataclass(frozen=True)
class ImpostorPairs:
    """Candidate impostor pairs (anchor ``i``, other-class point ``l``), sorted by anchor."""

    anchors: np.ndarray
    others: np.ndarray

    def __len__(self) -> int:
        return len(self.anchors)


def select_target_neighbors(
    X: np.ndarray, y: np.ndarray, n_neighbors: int, *, working_memory: float | None = None
) -> tuple[TargetNeighbors, list[int]]:
    """The ``n_neighbors`` nearest same-class points of each point, in Euclidean distance.

    A class with ``s <= n_neighbors`` points gives each member ``s - 1`` targets (singletons none).

    Returns
    -------
    targets : TargetNeighbors
    small_classes : list of int
        Codes of the classes that had fewer than ``n_neighbors + 1`` points.
    """
    n = len(X)
    indices = np.zeros((n, n_neighbors), dtype=np.intp)
    mask = np.zeros((n, n_neighbors), dtype=bool)
    small = []
    for c in np.unique(y):
        members = np.flatnonzero(y == c)
        k = min(n_neighbors, len(members) - 1)
        if k < n_neighbors:
            small.append(int(c))
        if k == 0:
            continue
        local = top_k_neighbors(X[members], n_neighbors=k, squared=True, working_memory=working_memory).indices
        indices[members, :k] = members[local]
        mask[members, :k] = True
    return TargetNeighbors(indices, mask), small


def target_distances(Z: np.ndarray, targets: TargetNeighbors, working_memory: float | None = None) -> np.ndarray:
    """Squared distances (n_samples, n_neighbors) to the target neighbours in the mapped space ``Z``; 0 at padding."""
    n, k = targets.indices.shape
    safe = targets.safe_indices()
    out = np.empty((n, k), dtype=Z.dtype)
    for rows in block_slices(n, Z.itemsize * k * Z.shape[1] * 2, working_memory):
        diff = np.take(Z, safe[rows], axis=0)  # (b, k, r)
        diff -= Z[rows, None, :]
        out[rows] = np.einsum("ijk,ijk->ij", diff, diff)
    return out


def pair_distances(Z: np.ndarray, pairs: ImpostorPairs, working_memory: float | None = None) -> np.ndarray:
    """Squared distances (n_pairs,) between the anchors and the others of ``pairs`` in ``Z`` (in ``Z``'s dtype)."""
    out = np.empty(len(pairs), dtype=Z.dtype)
    for rows in block_slices(len(pairs), Z.itemsize * Z.shape[1] * 2, working_memory):
        diff = np.take(Z, pairs.anchors[rows], axis=0)  # (b, r)
        diff -= np.take(Z, pairs.others[rows], axis=0)
        out[rows] = np.einsum("ij,ij->i", diff, diff)
    return out


def find_impostors(
    Z: np.ndarray,
    y: np.ndarray,
    radius: np.ndarray,
    *,
    working_memory: float | None = None,
) -> tuple[ImpostorPairs, np.ndarray]:
    """All pairs (i, l) with ``y_l != y_i`` and ``d2(i, l) < radius[i]``, by a blockwise search.

    The search runs in float32 with a slack that provably covers its rounding error, then every
    candidate's distance is recomputed in float64 and compared exactly, so no pair is lost or added
    by rounding. Memory is bounded by ``working_memory`` (MiB).

    Returns
    -------
    pairs : ImpostorPairs
    d2 : ndarray of shape (n_pairs,)
        Exact squared distances of the pairs.
    """
    n, r = Z.shape
    Zc = Z - Z.mean(axis=0)
    norms = np.einsum("ij,ij->i", Zc, Zc)
    # float32 d2 - d2 is at most gamma * (|z_i|^2 + |z_l|^2) with gamma = (r + 8) eps32 (an (r + 1)-term
    # dot product whose absolute terms sum to <= 2 (|z_i|^2 + |z_l|^2), plus the casts); we search with
    # lower bounds d2 - 2 gamma (...) so no pair inside the radius can be missed.
    gamma = 2.0 * (r + 8) * _FLOAT32_EPS
    # Augmented rows: [-2 z_i, 1] . [z_l, (1 - gamma) |z_l|^2] = -2 z_i.z_l + (1 - gamma)|z_l|^2, one GEMM.
    left = np.hstack([-2.0 * Zc, np.ones((n, 1))]).astype(np.float32)
    right = np.hstack([Zc, (1.0 - gamma) * norms[:, None]]).astype(np.float32)
    row_bound = (radius - (1.0 - gamma) * norms).astype(np.float32)
    anchors, others = [], []
    for c in np.unique(y):
        members = np.flatnonzero((y == c) & np.isfinite(radius))  # anchors with targets
        if len(members) == 0:
            continue
        outsiders = np.flatnonzero(y != c)
        right_c = np.ascontiguousarray(right[outsiders])  # (n_out, r + 1)
        slices = list(block_slices(len(members), 5.0 * len(outsiders), working_memory))
        hits = np.empty((slices[0].stop - slices[0].start, len(outsiders)), dtype=bool)  # reused mask buffer
        for rows in slices:
            block = members[rows]
            G = left[block] @ right_c.T  # (b, n_out)
            mask = np.less(G, row_bound[block, None], out=hits[: len(block)])
            # flatnonzero + divmod is an order of magnitude faster than 2-D nonzero on sparse masks.
            hit_rows, hit_cols = np.divmod(np.flatnonzero(mask), len(outsiders))
            anchors.append(block[hit_rows])
            others.append(outsiders[hit_cols])
    if not anchors:
        empty = np.zeros(0, dtype=np.intp)
        return ImpostorPairs(empty, empty.copy()), np.zeros(0)
    anchors_all, others_all = np.concatenate(anchors), np.concatenate(others)
    order = np.argsort(anchors_all, kind="stable")
    pairs = ImpostorPairs(anchors_all[order], others_all[order])
    d2 = pair_distances(Z, pairs, working_memory)
    keep = d2 < radius[pairs.anchors]
    return ImpostorPairs(pairs.anchors[keep], pairs.others[keep]), d2[keep]


def _hinges(
    d_target: np.ndarray, targets: TargetNeighbors, pairs: ImpostorPairs, d_pairs: np.ndarray, margin: float
) -> np.ndarray:
    """Hinge arguments ``margin + d2(i, j) - d2(i, l)``, shape (n_pairs, n_neighbors); -inf at padding."""
    dt = np.where(targets.mask, d_target, -np.inf)  # (n, k)
    return margin + dt[pairs.anchors] - d_pairs[:, None]


def objective_on_pairs(
    d_target: np.ndarray,
    targets: TargetNeighbors,
    pairs: ImpostorPairs,
    d_pairs: np.ndarray,
    margin: float,
    push_weight: float,
) -> tuple[float, int]:
    """The objective restricted to ``pairs`` (exact when ``pairs`` holds every impostor) and the active-triplet count."""
    h = _hinges(d_target, targets, pairs, d_pairs, margin)
    active = h > 0
    pull = float(d_target[targets.mask].sum())
    push = float(h[active].sum())
    return (1.0 - push_weight) * pull + push_weight * push, int(active.sum())


class PairGraph:
    """The fixed sparsity pattern of target and candidate pairs; builds ``sum_ab w_ab (z_a - z_b)(x_a - x_b)^T`` fast."""

    def __init__(self, n: int, targets: TargetNeighbors, pairs: ImpostorPairs):
        rows_t, cols_t = np.nonzero(targets.mask)
        self.n = n
        self.n_target_pairs = len(rows_t)
        self.rows = np.concatenate([rows_t, pairs.anchors])
        self.cols = np.concatenate([targets.indices[rows_t, cols_t], pairs.others])
        self._target_pos = (rows_t, cols_t)
        # Pairs are unique (targets are same-class, impostors other-class), so CSR order is a permutation.
        W = sp.csr_matrix((np.arange(1, len(self.rows) + 1, dtype=np.float64), (self.rows, self.cols)), shape=(n, n))
        self._order = W.data.astype(np.intp) - 1
        self._W = W
        self._WT = W.T.tocsr()
        self._order_T = self._WT.data.astype(np.intp) - 1

    def weighted_outer_sum(self, weights: np.ndarray, Z: np.ndarray, X: np.ndarray) -> np.ndarray:
        """``sum_ab w_ab (z_a - z_b)(x_a - x_b)^T = Z^T (D - W - W^T) X``; shape (n_components, n_features)."""
        self._W.data = weights[self._order]
        self._WT.data = weights[self._order_T]
        degree = np.bincount(self.rows, weights, minlength=self.n) + np.bincount(self.cols, weights, minlength=self.n)
        laplacian_X = degree.astype(X.dtype)[:, None] * X  # (n, d)
        laplacian_X -= self._W @ X
        laplacian_X -= self._WT @ X
        return Z.T @ laplacian_X

    def target_weights(self, per_target: np.ndarray) -> np.ndarray:
        """Flatten (n, k) per-target weights in this graph's pair order."""
        return per_target[self._target_pos]


def loss_and_grad(
    L: np.ndarray,
    X: np.ndarray,
    targets: TargetNeighbors,
    pairs: ImpostorPairs,
    graph: PairGraph,
    margin: float,
    push_weight: float,
    working_memory: float | None = None,
    smoothing: float = 0.0,
) -> tuple[float, np.ndarray]:
    """Objective on the candidate ``pairs`` and its gradient with respect to ``L`` (shape of ``L``).

    ``d eps / d L = 2 L sum_ab w_ab (x_a - x_b)(x_a - x_b)^T`` with pull weights
    ``(1 - mu) + mu * #active(i, j, .)`` on target pairs and ``-mu * #active(i, ., l)`` on impostor pairs.
    With ``smoothing = s > 0`` the hinge is replaced by its Huber smoothing (``z^2 / 2s`` on
    ``[0, s]``, ``z - s/2`` above), which differs from it by at most ``s/2`` per triplet and has a
    continuous gradient; ``s = 0`` is the exact hinge.
    """
    dtype = X.dtype  # float32 X runs the whole evaluation in float32, accumulating sums in float64
    Z = X @ L.astype(dtype).T  # (n, r)
    d_target = target_distances(Z, targets, working_memory)  # (n, k)
    d_pairs = pair_distances(Z, pairs, working_memory)  # (m,)
    h = _hinges(d_target, targets, pairs, d_pairs, margin)  # (m, k)
    if smoothing > 0:
        slope = np.clip(h / dtype.type(smoothing), 0.0, 1.0)  # d loss / d h, in [0, 1]
        # Huber form without 0 * inf at padded targets (h = -inf): clip(h, 0, s)^2 / 2s + max(h - s, 0).
        push = float(np.square(np.clip(h, 0.0, smoothing)).sum(dtype=np.float64)) / (2.0 * smoothing)
        push += float(np.maximum(h - dtype.type(smoothing), 0.0).sum(dtype=np.float64))
    else:
        slope = (h > 0).astype(dtype)
        push = float(np.maximum(h, 0.0).sum(dtype=np.float64))
    loss = (1.0 - push_weight) * float(d_target[targets.mask].sum(dtype=np.float64)) + push_weight * push
    n, k = d_target.shape
    slope_per_target = np.stack([np.bincount(pairs.anchors, slope[:, j], minlength=n) for j in range(k)], axis=1)  # (n, k)
    w_target = graph.target_weights((1.0 - push_weight) + push_weight * slope_per_target)
    w_pairs = -push_weight * slope.sum(axis=1, dtype=np.float64)
    grad = 2.0 * graph.weighted_outer_sum(np.concatenate([w_target, w_pairs]).astype(dtype), Z, X)
    return loss, grad.astype(np.float64)


def lmnn_radius(d_target: np.ndarray, targets: TargetNeighbors, margin: float) -> np.ndarray:
    """Per anchor, the squared radius inside which an other-class point is an impostor; -inf without targets."""
    return np.where(targets.mask, d_target, -np.inf).max(axis=1) + margin


def warn_small_classes(small: list[int], classes: np.ndarray, n_neighbors: int) -> None:
    """Warn once, naming the classes that have too few points for ``n_neighbors`` targets."""
    if small:
        names = ", ".join(repr(classes[c].item() if isinstance(classes[c], np.generic) else classes[c]) for c in small[:10]) + (" ..." if len(small) > 10 else "")
        warnings.warn(
            f"{len(small)} class(es) have at most `n_neighbors` ({n_neighbors}) points and use fewer "
            f"target neighbours (class size - 1; singletons none): {names}.",
            UserWarning,
            stacklevel=3,
        )
