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
from typing import Iterator

import numpy as np
import scipy.sparse as sp

from metrickit._validation import check_working_memory
from metrickit.distances.functional import block_slices, top_k_neighbors

__all__ = [
    "ImpostorPairs",
    "PairGraph",
    "TargetNeighbors",
    "find_impostors",
    "lmnn_radius",
    "ImpostorBudgetExceeded",
    "hinge_arguments",
    "hinge_terms",
    "iter_impostors",
    "laplacian_product",
    "loss_and_grad",
    "objective_on_pairs",
    "streaming_loss_and_grad",
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


class ImpostorBudgetExceeded(RuntimeError):
    """More impostor pairs than the memory budget allows: the caller switches to streaming evaluation."""


def iter_impostors(
    Z: np.ndarray, y: np.ndarray, radius: np.ndarray, working_memory: float | None = None
) -> Iterator[tuple[ImpostorPairs, np.ndarray]]:
    """Blocks of the pairs (i, l) with ``y_l != y_i`` and ``d2(i, l) < radius[i]``, and their distances.

    Each class's anchors are checked against the other classes with one augmented float32 matrix
    product per block, against lower bounds ``d2 - 2 gamma (|z_i|^2 + |z_l|^2)`` with
    ``gamma = (r + 8) eps32``, which covers the product's rounding (an (r + 1)-term dot product whose
    absolute terms sum to at most ``2 (|z_i|^2 + |z_l|^2)``) and the casts. So no pair inside the
    radius is missed; each candidate is then confirmed with its distance recomputed in ``Z``'s
    precision (float64 gives the exact set). Block sizes follow the ``working_memory`` budget and
    shrink when hits are dense, so memory stays bounded either way.

    Yields
    ------
    pairs : ImpostorPairs
        Confirmed pairs of one block.
    d2 : ndarray of shape (n_pairs,)
        Their squared distances.
    """
    n, r = Z.shape
    Zc = (Z - Z.mean(axis=0)).astype(np.float64)
    norms = np.einsum("ij,ij->i", Zc, Zc)
    gamma = 2.0 * (r + 8) * _FLOAT32_EPS
    # [-2 z_i, 1] . [z_l, (1 - gamma)|z_l|^2] = -2 z_i.z_l + (1 - gamma)|z_l|^2 in one GEMM.
    left = np.hstack([-2.0 * Zc, np.ones((n, 1))]).astype(np.float32)
    right = np.hstack([Zc, (1.0 - gamma) * norms[:, None]]).astype(np.float32)
    row_bound = (radius - (1.0 - gamma) * norms).astype(np.float32)
    budget = check_working_memory(working_memory) * 2**20
    chunk = max(1, int(budget // (16 * r + 64)))
    for c in np.unique(y):
        members = np.flatnonzero((y == c) & np.isfinite(radius))  # anchors with targets
        outsiders = np.flatnonzero(y != c)
        if len(members) == 0 or len(outsiders) == 0:
            continue
        right_c = np.ascontiguousarray(right[outsiders])  # (n_out, r + 1)
        density, start = 0.02, 0  # hit fraction: a cautious guess, then the largest seen
        while start < len(members):
            # G (4 bytes) + mask (1 byte) per element, plus ~40 bytes per hit for the index arrays.
            rows = max(1, int(budget // (len(outsiders) * (5.0 + 40.0 * density))))
            block = members[start : start + rows]
            G = left[block] @ right_c.T  # (b, n_out)
            mask = G < row_bound[block, None]
            del G
            # flatnonzero + divmod is an order of magnitude faster than 2-D nonzero on sparse masks.
            hit_rows, hit_cols = np.divmod(np.flatnonzero(mask), len(outsiders))
            del mask
            density = max(density, len(hit_rows) / (len(block) * len(outsiders)))
            start += len(block)
            for part in range(0, len(hit_rows), chunk):  # consumers hold ~(16 r + 64) bytes per pair
                cand = ImpostorPairs(block[hit_rows[part : part + chunk]], outsiders[hit_cols[part : part + chunk]])
                d2 = pair_distances(Z, cand, working_memory)
                keep = d2 < radius[cand.anchors]
                yield ImpostorPairs(cand.anchors[keep], cand.others[keep]), d2[keep]


def find_impostors(
    Z: np.ndarray,
    y: np.ndarray,
    radius: np.ndarray,
    *,
    working_memory: float | None = None,
    max_pairs: int | None = None,
) -> tuple[ImpostorPairs, np.ndarray]:
    """All pairs (i, l) with ``y_l != y_i`` and ``d2(i, l) < radius[i]``, sorted by anchor, by a blockwise search.

    Blocks come from :func:`iter_impostors` (float64 ``Z`` gives the exact set). Raises
    :class:`ImpostorBudgetExceeded` once more than ``max_pairs`` pairs are found.

    Returns
    -------
    pairs : ImpostorPairs
    d2 : ndarray of shape (n_pairs,)
        Squared distances of the pairs.
    """
    kept_pairs, kept_d2, total = [], [], 0
    for pairs, d2 in iter_impostors(Z, y, radius, working_memory):
        kept_pairs.append(pairs)
        kept_d2.append(d2)
        total += len(pairs)
        if max_pairs is not None and total > max_pairs:
            raise ImpostorBudgetExceeded(f"more than {max_pairs} impostor pairs")
    if not kept_pairs:
        empty = np.zeros(0, dtype=np.intp)
        return ImpostorPairs(empty, empty.copy()), np.zeros(0, dtype=Z.dtype)
    anchors = np.concatenate([p.anchors for p in kept_pairs])
    order = np.argsort(anchors, kind="stable")
    others = np.concatenate([p.others for p in kept_pairs])[order]
    return ImpostorPairs(anchors[order], others), np.concatenate(kept_d2)[order]


def hinge_arguments(
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
    h = hinge_arguments(d_target, targets, pairs, d_pairs, margin)
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
        return Z.T @ _apply_laplacian(self._W, self._WT, self.rows, self.cols, weights, X)

    def target_weights(self, per_target: np.ndarray) -> np.ndarray:
        """Flatten (n, k) per-target weights in this graph's pair order."""
        return per_target[self._target_pos]


def hinge_terms(h: np.ndarray, smoothing: float) -> tuple[float, np.ndarray]:
    """Sum of the (optionally Huber-smoothed) hinge over ``h`` and its slope ``d loss / d h`` in [0, 1].

    With ``smoothing = s > 0`` the hinge becomes ``z^2 / 2s`` on ``[0, s]`` and ``z - s/2`` above: at
    most ``s/2`` below the hinge per triplet, with a continuous gradient. ``s = 0`` is the exact hinge.
    """
    if smoothing > 0:
        s = h.dtype.type(smoothing)
        slope = np.clip(h / s, 0.0, 1.0)
        # Huber form without 0 * inf at padded targets (h = -inf): clip(h, 0, s)^2 / 2s + max(h - s, 0).
        push = float(np.square(np.clip(h, 0.0, s)).sum(dtype=np.float64)) / (2.0 * smoothing)
        push += float(np.maximum(h - s, 0.0).sum(dtype=np.float64))
        return push, slope
    return float(np.maximum(h, 0.0).sum(dtype=np.float64)), (h > 0).astype(h.dtype)


def laplacian_product(rows: np.ndarray, cols: np.ndarray, weights: np.ndarray, X: np.ndarray) -> np.ndarray:
    """``(D - W - W^T) X`` for the weighted pairs ``(rows, cols)``: ``sum_ab w_ab (z_a - z_b)(x_a - x_b)^T = Z^T`` times it."""
    n = len(X)
    W = sp.csr_matrix((weights.astype(X.dtype), (rows, cols)), shape=(n, n))
    return _apply_laplacian(W, W.T, rows, cols, weights, X)


def _apply_laplacian(W, WT, rows: np.ndarray, cols: np.ndarray, weights: np.ndarray, X: np.ndarray) -> np.ndarray:
    """``(D - W - W^T) X`` with ``D`` the degrees of the weighted pairs; ``W``/``WT`` hold the same weights."""
    degree = np.bincount(rows, weights, minlength=len(X)) + np.bincount(cols, weights, minlength=len(X))
    out = degree.astype(X.dtype)[:, None] * X  # (n, d)
    out -= W @ X
    out -= WT @ X
    return out


def streaming_loss_and_grad(
    L: np.ndarray,
    X: np.ndarray,
    y: np.ndarray,
    targets: TargetNeighbors,
    margin: float,
    push_weight: float,
    working_memory: float | None = None,
    smoothing: float = 0.0,
    with_grad: bool = True,
) -> tuple[float, np.ndarray | None, int]:
    """The objective over *all* impostors (and its gradient), found afresh block by block and never stored.

    Memory is bounded by ``working_memory`` whatever the number of impostors; each call costs one
    full search. In float64 the value is the exact objective. Returns ``(loss, grad or None, n_active)``.
    """
    dtype = X.dtype
    Z = X @ L.astype(dtype).T  # (n, r)
    d_target = target_distances(Z, targets, working_memory)  # (n, k)
    radius = lmnn_radius(d_target.astype(np.float64), targets, margin)
    n, k = d_target.shape
    push, n_active = 0.0, 0
    slope_per_target = np.zeros((n, k))
    laplacian_X = np.zeros_like(X) if with_grad else None
    for pairs, d_pairs in iter_impostors(Z, y, radius, working_memory):
        h = hinge_arguments(d_target, targets, pairs, d_pairs, margin)  # (p, k)
        part, slope = hinge_terms(h, smoothing)
        push += part
        n_active += int((h > 0).sum())
        if with_grad:
            for j in range(k):
                slope_per_target[:, j] += np.bincount(pairs.anchors, slope[:, j], minlength=n)
            laplacian_X += laplacian_product(pairs.anchors, pairs.others, -push_weight * slope.sum(axis=1, dtype=np.float64), X)
    loss = (1.0 - push_weight) * float(d_target[targets.mask].sum(dtype=np.float64)) + push_weight * push
    if not with_grad:
        return loss, None, n_active
    rows_t, cols_t = np.nonzero(targets.mask)
    w_target = (1.0 - push_weight) + push_weight * slope_per_target[rows_t, cols_t]
    laplacian_X += laplacian_product(rows_t, targets.indices[rows_t, cols_t], w_target, X)
    return loss, (2.0 * (Z.T @ laplacian_X)).astype(np.float64), n_active


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
    h = hinge_arguments(d_target, targets, pairs, d_pairs, margin)  # (m, k)
    push, slope = hinge_terms(h, smoothing)
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
