"""Recall of an approximate search against exact search: the share of each query's exact top-k that it returns."""

from __future__ import annotations

import numpy as np

from metrickit._validation import check_positive_int

__all__ = ["exact_top_k", "recall_at_k"]


def exact_top_k(queries: np.ndarray, gallery: np.ndarray, k: int, *, inner_product: bool = False) -> np.ndarray:
    """Positions (n_queries, k) of each query's ``k`` nearest gallery rows, nearest first, by squared Euclidean distance
    or, with ``inner_product``, largest inner product; computed in blocks (never a queries x gallery matrix whole)."""
    from metrickit.distances.functional import top_k_neighbors

    k = check_positive_int(k, "k", maximum=len(gallery))
    if not inner_product:
        return top_k_neighbors(queries, gallery, n_neighbors=k, squared=True).indices
    found = np.empty((len(queries), k), dtype=np.intp)
    block = max(1, int(2**27 // max(1, len(gallery))))  # about 1 GiB of float64 scores per block
    for start in range(0, len(queries), block):
        scores = queries[start : start + block] @ gallery.T
        top = np.argpartition(-scores, k - 1, axis=1)[:, :k]
        order = np.argsort(-np.take_along_axis(scores, top, 1), axis=1, kind="stable")
        found[start : start + block] = np.take_along_axis(top, order, 1)
    return found


def recall_at_k(found: np.ndarray, exact: np.ndarray, k: int) -> float:
    """Mean over queries of |found[:, :k] & exact[:, :k]| / k (recall@1: whether the exact nearest came first)."""
    found, exact = np.asarray(found)[:, :k], np.asarray(exact)[:, :k]
    hits = (found[:, :, None] == exact[:, None, :]).any(2).sum(1)
    return float(np.mean(hits / k))
