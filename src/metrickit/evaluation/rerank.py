"""k-reciprocal re-ranking (Zhong, Zheng, Cao & Li, CVPR 2017), sparse and blockwise.

The same computation as the authors' reference code, without its dense (n + m) x (n + m) matrices. Over all
query and gallery points together, with squared Euclidean distances ``d`` and ``dn(i, j) = d(i, j) / max_l d(i, l)``:

1. ``R(i)``: the k-reciprocal neighbours of ``i`` among its ``k1 + 1`` nearest (itself included): the ``j`` that
   also have ``i`` among their ``k1 + 1`` nearest.
2. Expansion: for each ``c`` in ``R(i)``, its ``round(k1 / 2)``-reciprocal set joins ``R(i)`` when more than two
   thirds of it already lies in ``R(i)``.
3. ``V(i)``: weights ``exp(-dn(i, j))`` on the expanded set, normalised to sum 1; then local query expansion
   replaces ``V(i)`` by the mean of ``V`` over ``i``'s ``k2`` nearest (itself included).
4. Jaccard distance ``1 - m / (2 - m)`` with ``m = sum_k min(V(q)_k, V(g)_k)``, and the final distance
   ``(1 - lambda) * jaccard + lambda * dn(q, g)``.

Only the ``k1 + 1`` nearest neighbours of each point, the sparse ``V`` (a few dozen entries per row) and one
block of query rows at a time are held, so galleries of tens of thousands fit in memory.
"""

from __future__ import annotations

import numpy as np

from metrickit._validation import check_positive_int, check_working_memory
from metrickit.distances.functional import block_slices, smallest_k, squared_euclidean_block

__all__ = ["K1", "K2", "LAMBDA", "KReciprocalReranker", "rerank_distances"]

K1, K2, LAMBDA = 20, 6, 0.3  # the paper's defaults (Zhong et al. 2017)

_MIB = 2**20
_BYTES_PER_PAIR = 64  # offsets, picks, both weights, their minimum and the flat index of one sharing pair


class KReciprocalReranker:
    """Precomputes the k-reciprocal encodings of ``query`` (n, d) and ``gallery`` (m, d); :meth:`block` gives the
    re-ranked distances of a block of query rows to the whole gallery."""

    def __init__(self, query: np.ndarray, gallery: np.ndarray, *, k1: int = K1, k2: int = K2, lambda_value: float = LAMBDA,
                 working_memory: float | None = None):
        self.k1, self.k2 = check_positive_int(k1, "k1"), check_positive_int(k2, "k2")
        if not 0.0 <= lambda_value <= 1.0:
            raise ValueError(f"`lambda_value` must lie in [0, 1]; got {lambda_value!r}.")
        points = np.concatenate([query, gallery]).astype(np.float64)
        if self.k1 + 1 > len(points) or self.k2 > self.k1 + 1:
            raise ValueError(f"`k1` ({k1}) must be below the number of points ({len(points)}) and `k2` ({k2}) at most k1 + 1.")
        self.lambda_value = float(lambda_value)
        self.n_query, self.working_memory = len(query), working_memory
        self.points = points - gallery.mean(0)
        self.sq_norms = np.einsum("ij,ij->i", self.points, self.points)
        self.nearest, self.row_max = self._neighbours()
        encoding = self._encode()
        self.query_codes = encoding[: self.n_query].tocsr()
        self.gallery_codes = encoding[self.n_query :].tocsc()

    def _neighbours(self) -> tuple[np.ndarray, np.ndarray]:
        """Each point's ``k1 + 1`` nearest points (itself first) and the largest squared distance in its row."""
        n = len(self.points)
        nearest = np.empty((n, self.k1 + 1), dtype=np.intp)
        row_max = np.empty(n)
        for rows in block_slices(n, 16.0 * n, self.working_memory):
            D = squared_euclidean_block(self.points[rows], self.points, self.sq_norms)  # (b, n)
            D[np.arange(D.shape[0]), np.arange(rows.start, rows.stop)] = 0.0  # exactly 0 to itself, as the reference's matrix
            row_max[rows] = D.max(1)
            nearest[rows] = smallest_k(D, self.k1 + 1)[1]
        return nearest, np.where(row_max > 0, row_max, 1.0)

    @staticmethod
    def _reciprocal(lists: np.ndarray) -> np.ndarray:
        """Mask (n, k): whether ``lists[i, m]`` has ``i`` in its own list."""
        own = np.arange(len(lists))[:, None, None]
        return (lists[lists] == own).any(-1)

    def _encode(self):
        """The sparse encodings ``V`` (after local query expansion), one row per point."""
        from scipy import sparse

        n, nearest = len(self.points), self.nearest
        half = nearest[:, : int(np.around(self.k1 / 2)) + 1]
        recip = np.where(self._reciprocal(nearest), nearest, -1)  # R(i), padded with -1: (n, k1 + 1)
        half_recip = np.where(self._reciprocal(half), half, -1)  # (n, kh + 1)
        rows, cols, weights = [], [], []
        width = recip.shape[1] * (1 + half_recip.shape[1])
        for block in block_slices(n, 16.0 * width * (recip.shape[1] + self.points.shape[1]), self.working_memory):
            own = recip[block]  # (b, k1 + 1)
            candidates = np.where(own[..., None] >= 0, half_recip[own], -1)  # (b, k1 + 1, kh + 1): each c's half set
            inside = ((candidates[..., None] == own[:, None, None, :]) & (candidates[..., None] >= 0)).any(-1).sum(-1)
            size = (candidates >= 0).sum(-1)
            accept = (own >= 0) & (inside > 2 / 3 * size)
            members = np.concatenate([own, np.where(accept[..., None], candidates, -1).reshape(len(own), -1)], axis=1)
            members.sort(axis=1)
            first = np.ones_like(members, dtype=bool)
            first[:, 1:] = members[:, 1:] != members[:, :-1]
            keep = first & (members >= 0)  # the expanded set, each member once
            i = np.broadcast_to(np.arange(block.start, block.stop)[:, None], members.shape)[keep]
            j = members[keep]
            d = self.sq_norms[i] + self.sq_norms[j] - 2 * np.einsum("ij,ij->i", self.points[i], self.points[j])
            d[i == j] = 0.0
            w = np.exp(-np.maximum(d, 0.0) / self.row_max[i])
            rows.append(i)
            cols.append(j)
            weights.append(w / np.bincount(i - block.start, weights=w, minlength=len(own))[i - block.start])
        V = sparse.csr_matrix((np.concatenate(weights), (np.concatenate(rows), np.concatenate(cols))), shape=(n, n))
        if self.k2 == 1:
            return V
        expand = sparse.csr_matrix((np.full(n * self.k2, 1.0 / self.k2), (np.repeat(np.arange(n), self.k2), nearest[:, : self.k2].ravel())),
                                   shape=(n, n))
        return expand @ V

    def block(self, rows: slice) -> np.ndarray:
        """Re-ranked distances (len(rows), n_gallery) of the query rows ``rows``.

        Every (query entry, gallery entry) pair sharing a column ``k`` contributes ``min(V(q)_k, V(g)_k)``. The pairs
        are formed in chunks within ``working_memory``: a hub column (a point in many neighbourhoods) pairs with
        every gallery row that holds it, so their number is not bounded by the block size alone.
        """
        codes = self.query_codes[rows]  # (b, n) sparse
        gallery = self.gallery_codes  # (m, n) sparse, by column
        b, m = codes.shape[0], gallery.shape[0]
        q_rows = np.repeat(np.arange(b), np.diff(codes.indptr))
        starts, counts = gallery.indptr[codes.indices], np.diff(gallery.indptr)[codes.indices]
        ends = np.cumsum(counts)
        limit = max(int(check_working_memory(self.working_memory) * _MIB // _BYTES_PER_PAIR), int(counts.max(initial=1)))
        cuts = np.concatenate([[0], np.searchsorted(ends, np.arange(limit, ends[-1] if len(ends) else 0, limit), side="right"),
                               [len(counts)]])
        overlap = np.zeros(b * m)
        for lo, hi in zip(cuts[:-1], cuts[1:]):
            if hi <= lo:
                continue
            c = counts[lo:hi]
            offsets = np.arange(c.sum()) - np.repeat(np.cumsum(c) - c, c)
            picks = np.repeat(starts[lo:hi], c) + offsets
            shared = np.minimum(np.repeat(codes.data[lo:hi], c), gallery.data[picks])
            overlap += np.bincount(np.repeat(q_rows[lo:hi], c) * m + gallery.indices[picks], weights=shared, minlength=b * m)
        overlap = overlap.reshape(b, m)
        jaccard = 1.0 - overlap / (2.0 - overlap)
        q = self.points[rows]
        original = squared_euclidean_block(q, self.points[self.n_query :], self.sq_norms[self.n_query :]) / self.row_max[rows][:, None]
        return (1.0 - self.lambda_value) * jaccard + self.lambda_value * original


def rerank_distances(query: np.ndarray, gallery: np.ndarray, *, k1: int = K1, k2: int = K2, lambda_value: float = LAMBDA,
                     working_memory: float | None = None) -> np.ndarray:
    """The full re-ranked distance matrix (n_query, n_gallery); :func:`~metrickit.evaluation.reid.reid_metrics` uses blocks instead."""
    reranker = KReciprocalReranker(query, gallery, k1=k1, k2=k2, lambda_value=lambda_value, working_memory=working_memory)
    return np.concatenate([reranker.block(rows) for rows in block_slices(len(query), 64.0 * len(gallery), working_memory)])
