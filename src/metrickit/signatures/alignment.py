"""DTW alignments of many sequence pairs at once (numpy, vectorised over pairs and anti-diagonals), and what metric
learning needs from them: the scatter of aligned point differences along each optimal path.

The band is dtaidistance's (:mod:`~metrickit.signatures.dtw`): row i of an r x c problem may align with columns
``i - max(0, r - c) - window + 1`` to ``i + max(0, c - r) + window - 1``, so the distances equal
:func:`~metrickit.signatures.dtw.dtw_cross_distances` (tested). Ties prefer the diagonal step, as dtaidistance does.
A pair's path scatter ``S = sum over path steps of (a_i - b_j)(a_i - b_j)^T`` makes its squared DTW cost along that
path under a local Mahalanobis matrix M equal to ``<M, S>``: linear in M, which is what
:class:`~metrickit.signatures.dtw_lmnn.DTWMetricLearner` optimises.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

__all__ = ["aligned_scatters"]


def _block(a: list[np.ndarray], b: list[np.ndarray], window: int, transform: np.ndarray | None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Distances (B,), path scatters (B, d, d) and path lengths (B,) of one block of pairs."""
    from metrickit.datasets.trajectories import pad_sequences

    (A, n), (Bq, m) = pad_sequences(a), pad_sequences(b)
    B, N, M, d = len(a), A.shape[1], Bq.shape[1], A.shape[2]
    TA, TB = (A, Bq) if transform is None else (A @ transform.T, Bq @ transform.T)
    cost = (TA**2).sum(-1)[:, :, None] + (TB**2).sum(-1)[:, None, :] - 2 * np.einsum("bid,bjd->bij", TA, TB)
    np.maximum(cost, 0, out=cost)
    i, j = np.arange(N)[None, :, None], np.arange(M)[None, None, :]
    rows, cols = n[:, None, None], m[:, None, None]
    low = i - np.maximum(0, rows - cols) - window + 1
    high = i + np.maximum(0, cols - rows) + window - 1
    cost[~((i < rows) & (j < cols) & (j >= low) & (j <= high))] = np.inf
    acc = np.full((B, N + 1, M + 1), np.inf)
    acc[:, 0, 0] = 0
    for s in range(2, N + M + 1):  # anti-diagonals: every cell on one depends only on the two before
        ii = np.arange(max(1, s - M), min(N, s - 1) + 1)
        jj = s - ii
        best = np.minimum(np.minimum(acc[:, ii - 1, jj - 1], acc[:, ii - 1, jj]), acc[:, ii, jj - 1])
        acc[:, ii, jj] = cost[:, ii - 1, jj - 1] + best
    batch = np.arange(B)
    distances = np.sqrt(acc[batch, n, m])
    scatters, steps = np.zeros((B, d, d)), np.zeros(B, dtype=np.int64)
    pi, pj = n.copy(), m.copy()
    active = np.isfinite(distances)
    while active.any():  # back along each path, one step per pair at a time
        diff = (A[batch, pi - 1] - Bq[batch, pj - 1]) * active[:, None]
        scatters += diff[:, :, None] * diff[:, None, :]
        steps += active
        done = active & (pi == 1) & (pj == 1)
        options = np.stack([acc[batch, pi - 1, pj - 1], acc[batch, pi - 1, pj], acc[batch, pi, pj - 1]], axis=1)
        move = np.argmin(options, axis=1)  # first minimum: the diagonal wins ties
        active &= ~done
        pi = np.where(active & (move != 2), pi - 1, pi)
        pj = np.where(active & (move != 1), pj - 1, pj)
    return distances, scatters, steps


def aligned_scatters(a: Sequence[np.ndarray], b: Sequence[np.ndarray], *, window: int, transform: np.ndarray | None = None,
                     block_pairs: int = 64) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For each pair (a[k], b[k]): the banded DTW distance under the local cost ``||transform (x - y)||^2`` (Euclidean
    without one), the scatter (d, d) of the raw point differences along its optimal path, and the path's length.
    Pairs are sorted by length and taken ``block_pairs`` at a time, so padding stays small."""
    if len(a) != len(b):
        raise ValueError(f"`a` has {len(a)} sequences but `b` has {len(b)}; they are aligned in pairs.")
    a = [np.asarray(x, dtype=np.float64) for x in a]
    b = [np.asarray(y, dtype=np.float64) for y in b]
    distances, scatters, steps = np.empty(len(a)), np.empty((len(a), a[0].shape[1], a[0].shape[1]) if a else (0, 0, 0)), np.empty(len(a), np.int64)
    order = np.argsort([max(len(x), len(y)) for x, y in zip(a, b)], kind="stable")
    for start in range(0, len(order), block_pairs):
        chosen = order[start : start + block_pairs]
        distances[chosen], scatters[chosen], steps[chosen] = _block([a[k] for k in chosen], [b[k] for k in chosen], window, transform)
    return distances, scatters, steps
