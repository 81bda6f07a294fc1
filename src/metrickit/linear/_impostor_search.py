"""The exact search for impostor pairs: symmetric float32 tiles on a few threads, confirmed in ``Z``'s precision.

Points are sorted by class and the upper triangle of the n x n distance matrix is cut into square
tiles small enough to stay in cache (allocating fresh n x b blocks costs more in page faults than
the matrix product itself). Each tile serves both directions: its rows as anchors against its
columns, and its columns as anchors against its rows. Tiles that hold one class only are skipped.
"""

from __future__ import annotations

from collections import deque
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Iterator

import numpy as np
from threadpoolctl import threadpool_limits

from metrickit._threads import Workers, blas_threads
from metrickit._validation import check_working_memory
from metrickit.distances.functional import block_slices

__all__ = ["STREAM_MIB", "ImpostorPairs", "gathered_distances", "iter_impostors", "impostor_distances", "pair_slices"]

_FLOAT32_EPS = float(np.finfo(np.float32).eps)
_MAX_TILE = 768  # rows = columns of a tile: 2.25 MiB of float32, near the per-core cache
_MIN_TILE = 32
_TILE_BYTES_PER_ELEMENT = 48  # the product (4), two masks (2), and up to ~40 bytes of hit indices
STREAM_MIB = 8.0  # blocks of the gathers that confirm and score pairs
_MAX_IN_FLIGHT = 16  # tiles queued or running at once; tile sizes assume this many, whatever the thread count


@dataclass(frozen=True)
class ImpostorPairs:
    """Impostor pairs (anchor ``i``, other-class point ``l``); :func:`find_impostors` sorts them by anchor."""

    anchors: np.ndarray
    others: np.ndarray

    def __len__(self) -> int:
        return len(self.anchors)


def pair_slices(pairs: ImpostorPairs, Z: np.ndarray, working_memory: float | None) -> list[slice]:
    """Cache-sized blocks of ``pairs`` for gathering their rows of ``Z``."""
    return list(block_slices(len(pairs), Z.itemsize * Z.shape[1] * 2, working_memory, cap_mib=STREAM_MIB))


def gathered_distances(Z: np.ndarray, anchors: np.ndarray, others: np.ndarray) -> np.ndarray:
    """Squared distances between the rows ``anchors`` and ``others`` of ``Z``, in ``Z``'s dtype."""
    diff = np.take(Z, anchors, axis=0)  # (b, r)
    diff -= np.take(Z, others, axis=0)
    return np.einsum("ij,ij->i", diff, diff)


def impostor_distances(
    Z: np.ndarray, pairs: ImpostorPairs, working_memory: float | None = None, workers: Workers | None = None
) -> np.ndarray:
    """Squared distances (n_pairs,) between the anchors and the others of ``pairs`` in ``Z`` (in ``Z``'s dtype)."""
    out = np.empty(len(pairs), dtype=Z.dtype)

    def fill(rows: slice) -> None:
        out[rows] = gathered_distances(Z, pairs.anchors[rows], pairs.others[rows])

    (workers or Workers()).map(fill, pair_slices(pairs, Z, working_memory))
    return out


class _Tiles:
    """Class-sorted float32 factors of the squared distances and the per-tile work."""

    def __init__(self, Z: np.ndarray, y: np.ndarray, radius: np.ndarray, tile: int, working_memory: float | None):
        n, r = Z.shape
        self.Z, self.radius, self.tile, self.working_memory = Z, radius, tile, working_memory
        self.order = np.argsort(y, kind="stable")
        self.labels = y[self.order]
        Zs = Z[self.order].astype(np.float64)
        Zs -= Zs.mean(axis=0)
        gamma = 2.0 * (r + 8) * _FLOAT32_EPS
        norms = (1.0 - gamma) * np.einsum("ij,ij->i", Zs, Zs)
        ones = np.ones((n, 1))
        # [-2 z_i, (1-g)|z_i|^2, 1] . [z_l, 1, (1-g)|z_l|^2] = d2(i, l) - g (|z_i|^2 + |z_l|^2) in one product.
        self.left = np.hstack([-2.0 * Zs, norms[:, None], ones]).astype(np.float32)
        self.right = np.hstack([Zs, ones, norms[:, None]]).astype(np.float32)
        self.bound = np.nextafter(radius[self.order].astype(np.float32), np.float32(np.inf))

    def work(self) -> list[tuple[int, int]]:
        """Starts ``(i0, j0)`` of the tiles with ``j0 >= i0`` that hold two classes or more."""
        n, b, labels = len(self.labels), self.tile, self.labels
        starts = range(0, n, b)
        return [(i0, j0) for i0 in starts for j0 in starts if j0 >= i0 and labels[i0] != labels[min(j0 + b, n) - 1]]

    def scan(self, start: tuple[int, int]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Confirmed pairs ``(anchors, others, d2)`` of one tile, in original indices."""
        i0, j0 = start
        n, b = len(self.labels), self.tile
        i1, j1 = min(i0 + b, n), min(j0 + b, n)
        width = j1 - j0
        G = self.left[i0:i1] @ self.right[j0:j1].T  # lower bounds of d2, (bi, bj)
        # Sorted labels: rows and columns share a class only if the last row's is the first column's.
        other_class = self.labels[i0:i1, None] != self.labels[None, j0:j1] if self.labels[i1 - 1] >= self.labels[j0] else None
        anchors, others = np.divmod(np.flatnonzero(_hits(G < self.bound[i0:i1, None], other_class)), width)
        anchors += i0
        others += j0
        if j0 != i0:  # the same tile read by columns: the columns as anchors
            col_others, col_anchors = np.divmod(np.flatnonzero(_hits(G < self.bound[None, j0:j1], other_class)), width)
            anchors = np.concatenate([anchors, col_anchors + j0])
            others = np.concatenate([others, col_others + i0])
        anchors, others = self.order[anchors], self.order[others]
        d2 = impostor_distances(self.Z, ImpostorPairs(anchors, others), self.working_memory)
        keep = d2 < self.radius[anchors]
        return anchors[keep], others[keep], d2[keep]


def _hits(inside: np.ndarray, other_class: np.ndarray | None) -> np.ndarray:
    if other_class is not None:
        inside &= other_class
    return inside


def iter_impostors(
    Z: np.ndarray,
    y: np.ndarray,
    radius: np.ndarray,
    working_memory: float | None = None,
    n_threads: int | None = None,
) -> Iterator[tuple[ImpostorPairs, np.ndarray]]:
    """Blocks of the pairs (i, l) with ``y_l != y_i`` and ``d2(i, l) < radius[i]``, and their distances.

    Tiles are screened with one float32 matrix product each, against lower bounds
    ``d2 - gamma (|z_i|^2 + |z_l|^2)`` with ``gamma = 2 (r + 8) eps32``, which covers the product's
    rounding (an (r + 2)-term dot product whose absolute terms sum to at most ``2 (|z_i|^2 + |z_l|^2)``)
    and the casts. So no pair inside the radius is missed; each candidate is then confirmed with its
    distance recomputed in ``Z``'s precision (float64 gives the exact set). Tiles run on ``n_threads``
    threads (default: the BLAS thread count), each with a single-threaded BLAS. Tile sizes, tiles in
    flight and the yielded blocks all follow the ``working_memory`` budget; the tiling, and so the
    order of the pairs, does not depend on the thread count.

    Yields
    ------
    pairs : ImpostorPairs
        Confirmed pairs of one block.
    d2 : ndarray of shape (n_pairs,)
        Their squared distances.
    """
    n, r = Z.shape
    radius = np.asarray(radius, dtype=np.float64)
    if n < 2:
        return
    workers = max(1, blas_threads() if n_threads is None else int(n_threads))
    budget = check_working_memory(working_memory) * 2**20
    tile = int(np.clip(np.sqrt(budget / (_MAX_IN_FLIGHT * _TILE_BYTES_PER_ELEMENT)), _MIN_TILE, _MAX_TILE))
    in_flight = min(2 * workers, _MAX_IN_FLIGHT)
    chunk = max(1, int(budget // (16 * r + 64)))  # consumers hold ~(16 r + 64) bytes per pair
    tiles = _Tiles(Z, y, radius, tile, working_memory)
    with threadpool_limits(limits=1, user_api="blas"), ThreadPoolExecutor(workers) as pool:
        pending: deque = deque()
        parts: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
        held = 0
        for start in tiles.work():
            pending.append(pool.submit(tiles.scan, start))
            while len(pending) >= in_flight or (pending and pending[0].done()):
                part = pending.popleft().result()
                parts.append(part)
                held += len(part[0])
                if held >= chunk:
                    yield _join(parts)
                    parts, held = [], 0
        while pending:
            parts.append(pending.popleft().result())
        if parts:
            yield _join(parts)


def _join(parts: list[tuple[np.ndarray, np.ndarray, np.ndarray]]) -> tuple[ImpostorPairs, np.ndarray]:
    anchors, others, d2 = (np.concatenate(column) for column in zip(*parts))
    return ImpostorPairs(anchors, others), d2
