"""The LMNN objective of Weinberger & Saul, its gradient, and the neighbour and impostor searches.

Notation: ``mu = push_weight``; target neighbours ``j ~> i`` are fixed; ``d2`` is the squared
distance after the linear map ``L`` (``M = L^T L``)::

    eps(M) = (1 - mu) sum_{i, j~>i} d2(i, j)
             + mu sum_{i, j~>i, l: y_l != y_i} [margin + d2(i, j) - d2(i, l)]_+

Triplets are never listed. For each anchor ``i`` only points ``l`` of another class inside the
radius ``max_j d2(i, j) + margin`` can make a hinge positive; those *impostor pairs* (i, l) are
found by a tiled search (``_impostor_search``), and each pair is scored against all targets of ``i`` at once
(an (n_pairs, n_neighbors) array). Gradients use a sparse graph Laplacian, so the cost per
evaluation is O(n_pairs * n_features + n_samples * n_components * n_features).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from metrickit._threads import Workers
from metrickit.distances.functional import block_slices, top_k_neighbors
from metrickit.linear._impostor_search import (
    STREAM_MIB,
    ImpostorPairs,
    gathered_distances,
    iter_impostors,
    impostor_distances,
    pair_slices,
)

__all__ = [
    "ImpostorPairs",
    "Laplacian",
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
    "padded_target_distances",
    "streaming_loss_and_grad",
    "impostor_distances",
    "select_target_neighbors",
    "target_distances",
]


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
    for rows in block_slices(n, Z.itemsize * k * Z.shape[1] * 2, working_memory, cap_mib=STREAM_MIB):
        diff = np.take(Z, safe[rows], axis=0)  # (b, k, r)
        diff -= Z[rows, None, :]
        out[rows] = np.einsum("ijk,ijk->ij", diff, diff)
    return out


class ImpostorBudgetExceeded(RuntimeError):
    """More impostor pairs than the memory budget allows: the caller switches to streaming evaluation."""


def find_impostors(
    Z: np.ndarray,
    y: np.ndarray,
    radius: np.ndarray,
    *,
    working_memory: float | None = None,
    max_pairs: int | None = None,
) -> tuple[ImpostorPairs, np.ndarray]:
    """All pairs (i, l) with ``y_l != y_i`` and ``d2(i, l) < radius[i]``, sorted by anchor then other, by a tiled search.

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
    others = np.concatenate([p.others for p in kept_pairs])
    order = np.argsort(anchors * len(Z) + others)  # pairs are unique: a canonical order, whatever the tiling
    return ImpostorPairs(anchors[order], others[order]), np.concatenate(kept_d2)[order]


def padded_target_distances(d_target: np.ndarray, targets: TargetNeighbors) -> np.ndarray:
    """Target distances (n_samples, n_neighbors) with -inf at padding: padded targets never make a hinge positive."""
    return np.where(targets.mask, d_target, -np.inf)


def hinge_arguments(
    d_target: np.ndarray, targets: TargetNeighbors, pairs: ImpostorPairs, d_pairs: np.ndarray, margin: float
) -> np.ndarray:
    """Hinge arguments ``margin + d2(i, j) - d2(i, l)``, shape (n_pairs, n_neighbors); -inf at padding."""
    return _hinge_block(padded_target_distances(d_target, targets), pairs.anchors, d_pairs, margin)


def _hinge_block(padded: np.ndarray, anchors: np.ndarray, d_pairs: np.ndarray, margin: float) -> np.ndarray:
    return margin + padded[anchors] - d_pairs[:, None]


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


_MIN_BLOCK_ENTRIES = 100_000  # smaller Laplacian products are not worth a thread


class Laplacian:
    """The graph Laplacian ``D - W - W^T`` of fixed weighted pairs ``(rows[p], cols[p])``, applied to ``X``.

    ``sum_p w_p (z_a - z_b)(x_a - x_b)^T = Z^T (D - W - W^T) X``: the gradient of any weighted sum of
    squared distances. The pattern of ``W + W^T`` is built once (a pair and its reverse may both
    occur; duplicates are kept and summed by the product); each product only gathers the weights.
    A column of ones appended to ``X`` yields the degrees in the same sparse product. The rows are
    split into one block of equal work per thread of ``workers``.
    """

    def __init__(self, rows: np.ndarray, cols: np.ndarray, X: np.ndarray, workers: Workers | None = None):
        n, m = len(X), len(rows)
        both_rows = np.concatenate([rows, cols])
        order = np.argsort(both_rows, kind="stable")
        self.indptr = np.concatenate([[0], np.cumsum(np.bincount(both_rows, minlength=n))]).astype(np.intp)
        self.indices = np.concatenate([cols, rows])[order].astype(np.intp)
        self.pair_of_entry = order % max(m, 1)
        self.X_aug = np.hstack([X, np.ones((n, 1), dtype=X.dtype)])
        self.workers = workers or Workers()
        n_blocks = int(np.clip(2 * m // _MIN_BLOCK_ENTRIES, 1, self.workers.n_threads))
        cuts = np.searchsorted(self.indptr, np.linspace(0, 2 * m, n_blocks + 1)[1:-1])
        self.blocks = [(a, b) for a, b in zip([0, *cuts], [*cuts, n]) if b > a]

    def _block(self, weights: np.ndarray, a: int, b: int) -> np.ndarray:
        lo, hi = self.indptr[a], self.indptr[b]
        data = weights[self.pair_of_entry[lo:hi]].astype(self.X_aug.dtype)
        W = sp.csr_matrix((data, self.indices[lo:hi], self.indptr[a : b + 1] - lo), shape=(b - a, len(self.X_aug)))
        WX = W @ self.X_aug  # (b - a, d + 1): the last column holds the degrees
        return WX[:, -1:] * self.X_aug[a:b, :-1] - WX[:, :-1]

    def product(self, weights: np.ndarray) -> np.ndarray:
        """``(D - W - W^T) X``, shape (n_samples, n_features)."""
        return np.concatenate(self.workers.map(lambda block: self._block(weights, *block), self.blocks))

    def outer_sum(self, weights: np.ndarray, Z: np.ndarray) -> np.ndarray:
        """``Z^T (D - W - W^T) X``, shape (n_components, n_features)."""
        return sum(self.workers.map(lambda block: Z[block[0] : block[1]].T @ self._block(weights, *block), self.blocks))


class PairGraph:
    """The fixed target and candidate pairs of one L-BFGS round: their :class:`Laplacian`, blocks and threads."""

    def __init__(
        self,
        X: np.ndarray,
        targets: TargetNeighbors,
        pairs: ImpostorPairs,
        workers: Workers | None = None,
        working_memory: float | None = None,
    ):
        rows_t, cols_t = np.nonzero(targets.mask)
        self.workers = workers or Workers()
        self.blocks = pair_slices(pairs, X, working_memory)
        self._target_pos = (rows_t, cols_t)
        rows = np.concatenate([rows_t, pairs.anchors])
        cols = np.concatenate([targets.indices[rows_t, cols_t], pairs.others])
        self.laplacian = Laplacian(rows, cols, X, self.workers)

    def weighted_outer_sum(self, weights: np.ndarray, Z: np.ndarray) -> np.ndarray:
        """``sum_ab w_ab (z_a - z_b)(x_a - x_b)^T`` over the targets then the candidates; shape (n_components, n_features)."""
        return self.laplacian.outer_sum(weights, Z)

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
    """``(D - W - W^T) X`` for the weighted pairs ``(rows, cols)`` (see :class:`Laplacian`)."""
    return Laplacian(rows, cols, X).product(weights)


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
    n_threads: int | None = None,
) -> tuple[float, np.ndarray | None, int]:
    """The objective over *all* impostors (and its gradient), found afresh block by block and never stored.

    Memory is bounded by ``working_memory`` whatever the number of impostors; each call costs one
    full search (on ``n_threads`` threads; default the BLAS thread count). In float64 the value is the
    exact objective. Returns ``(loss, grad or None, n_active)``.
    """
    dtype = X.dtype
    Z = X @ L.astype(dtype).T  # (n, r)
    d_target = target_distances(Z, targets, working_memory)  # (n, k)
    radius = lmnn_radius(d_target.astype(np.float64), targets, margin)
    n, k = d_target.shape
    push, n_active = 0.0, 0
    slope_per_target = np.zeros((n, k))
    laplacian_X = np.zeros_like(X) if with_grad else None
    for pairs, d_pairs in iter_impostors(Z, y, radius, working_memory, n_threads):
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
    padded = padded_target_distances(d_target, targets)
    n, k = d_target.shape

    def score(rows: slice) -> tuple[float, np.ndarray, int, np.ndarray]:
        """One cache-sized block of pairs: its push term, pair slopes, and per-target slopes from its first anchor on."""
        anchors = pairs.anchors[rows]
        d_pairs = gathered_distances(Z, anchors, pairs.others[rows])
        push, slope = hinge_terms(_hinge_block(padded, anchors, d_pairs, margin), smoothing)
        first = int(anchors.min())  # pairs come sorted by anchor, so blocks cover short anchor ranges
        per_target = np.stack([np.bincount(anchors - first, slope[:, j]) for j in range(k)], axis=1)
        return push, slope.sum(axis=1), first, per_target

    scored = graph.workers.map(score, graph.blocks)
    slope_per_target = np.zeros((n, k))
    for _, _, first, per_target in scored:  # neighbouring blocks may share an anchor
        slope_per_target[first : first + len(per_target)] += per_target
    push = sum(block[0] for block in scored)
    loss = (1.0 - push_weight) * float(d_target[targets.mask].sum(dtype=np.float64)) + push_weight * push
    w_target = graph.target_weights((1.0 - push_weight) + push_weight * slope_per_target)
    w_pairs = -push_weight * np.concatenate([block[1] for block in scored] or [np.zeros(0, dtype)])
    grad = 2.0 * graph.weighted_outer_sum(np.concatenate([w_target, w_pairs]), Z)
    return loss, grad.astype(np.float64)


def lmnn_radius(d_target: np.ndarray, targets: TargetNeighbors, margin: float) -> np.ndarray:
    """Per anchor, the squared radius inside which an other-class point is an impostor; -inf without targets."""
    return padded_target_distances(d_target, targets).max(axis=1) + margin


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
