"""Retrieval metrics as Musgrave et al. (2020) define them: precision@1, R-precision, MAP@R, plus kNN accuracy.

For a query with ``R`` relevant references (same label; itself excluded when the query set is the
reference set), rank the references by Euclidean distance; ``rel_i`` says whether the ``i``-th is
relevant. Then precision@1 is ``rel_1``, R-precision is ``sum_{i<=R} rel_i / R`` and MAP@R is
``(1/R) sum_{i<=R} rel_i * P(i)`` with ``P(i)`` the precision among the first ``i``; kNN accuracy is
whether the majority label of the ``n_neighbors`` nearest references is the query's. Every metric averages
over the same queries: those with ``R > 0``. Queries with ``R = 0`` have nothing to retrieve (and could never
be voted right): they are skipped and counted in ``n_skipped``. Precision@1, R-precision and MAP@R are
pytorch-metric-learning's ``AccuracyCalculator`` definitions (tested equal); its kNN accuracy is not compared.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Literal

import numpy as np

from metrickit._validation import check_array_2d, check_positive_int, validate_choice
from metrickit.distances.functional import top_k_neighbors

__all__ = ["RetrievalReport", "nearest_references", "retrieval_metrics"]

Backend = Literal["auto", "exact", "faiss"]


@dataclass(frozen=True)
class RetrievalReport:
    """Mean retrieval metrics, every one over the same ``n_queries`` queries: those with at least one relevant reference."""

    precision_at_1: float
    r_precision: float
    map_at_r: float
    knn_accuracy: float
    n_neighbors: int
    n_queries: int
    n_skipped: int
    backend: str

    def as_dict(self) -> dict:
        return asdict(self)


def nearest_references(
    query: np.ndarray, reference: np.ndarray | None, k: int, backend: Backend = "auto", working_memory: float | None = None
) -> tuple[np.ndarray, str]:
    """Indices (n_query, k) of each query's ``k`` nearest references, nearest first; ``reference=None``
    means leave-one-out within ``query``. 'exact' is blockwise numpy (ties by index); 'faiss' an exact
    flat index; 'auto' picks faiss when it is installed."""
    validate_choice(backend, "backend", ("auto", "exact", "faiss"))
    if backend == "auto":
        try:
            import faiss  # noqa: F401

            backend = "faiss"
        except ImportError:
            backend = "exact"
    if backend == "exact":
        return top_k_neighbors(query, reference, n_neighbors=k, squared=True, working_memory=working_memory).indices, "exact"
    return _faiss_neighbors(query, reference, k), "faiss"


def _faiss_neighbors(query: np.ndarray, reference: np.ndarray | None, k: int) -> np.ndarray:
    try:
        import faiss
    except ImportError as error:
        from metrickit.exceptions import MissingDependencyError

        raise MissingDependencyError('backend="faiss" needs faiss: pip install "metrickit[faiss]"') from error
    same = reference is None
    ref = np.ascontiguousarray(query if same else reference, dtype=np.float32)
    index = faiss.IndexFlatL2(ref.shape[1])
    index.add(ref)
    _, found = index.search(np.ascontiguousarray(query, dtype=np.float32), k + int(same))
    if not same:
        return found.astype(np.intp)
    is_self = found == np.arange(len(query))[:, None]
    is_self[~is_self.any(1), -1] = True  # self beyond the list (many exact duplicates): drop the last instead
    return found[~is_self].reshape(len(query), k).astype(np.intp)


def retrieval_metrics(
    query,
    query_labels,
    reference=None,
    reference_labels=None,
    *,
    n_neighbors: int = 5,
    backend: Backend = "auto",
    working_memory: float | None = None,
) -> RetrievalReport:
    """Precision@1, R-precision, MAP@R and ``n_neighbors``-NN accuracy (majority vote, ties to the nearest).

    Parameters
    ----------
    query : array-like of shape (n_query, embedding_dim)
    query_labels : array-like of shape (n_query,)
    reference, reference_labels : array-like, default=None
        The gallery; ``None`` ranks each query against the other queries (leave-one-out).
    n_neighbors : int, default=5
    backend : {'auto', 'exact', 'faiss'}, default='auto'
    """
    query = check_array_2d(query, "query")
    query_labels = _check_labels(query_labels, len(query), "query_labels")
    same = reference is None
    if same:
        reference, reference_labels = query, query_labels
    else:
        reference = check_array_2d(reference, "reference", n_features=query.shape[1])
        reference_labels = _check_labels(reference_labels, len(reference), "reference_labels")
    k = check_positive_int(n_neighbors, "n_neighbors")
    classes, ref_codes = np.unique(reference_labels, return_inverse=True)
    position = np.searchsorted(classes, query_labels).clip(0, len(classes) - 1)
    known = classes[position] == query_labels
    R = np.where(known, np.bincount(ref_codes, minlength=len(classes))[position] - int(same), 0)  # (n_query,)
    available = len(reference) - int(same)
    depth = int(min(max(R.max(initial=0), k), available))
    if depth == 0:
        raise ValueError("There is nothing to rank: the reference set has no point besides the query.")
    neighbors, used = nearest_references(query, None if same else reference, depth, backend, working_memory)
    relevant = reference_labels[neighbors] == query_labels[:, None]  # (n_query, depth)
    valid = R > 0
    rel, r = relevant[valid], R[valid]
    within = np.arange(depth)[None, :] < r[:, None]  # the first R ranks
    hits = rel & within
    precision = np.cumsum(hits, axis=1) / np.arange(1, depth + 1)
    nan = float("nan")
    return RetrievalReport(
        precision_at_1=float(rel[:, 0].mean()) if len(r) else nan,
        r_precision=float((hits.sum(1) / r).mean()) if len(r) else nan,
        map_at_r=float(((precision * hits).sum(1) / r).mean()) if len(r) else nan,
        knn_accuracy=float(np.mean(_vote(reference_labels[neighbors[valid, : min(k, depth)]]) == query_labels[valid])) if len(r) else nan,
        n_neighbors=min(k, depth),
        n_queries=int(valid.sum()),
        n_skipped=int((~valid).sum()),
        backend=used,
    )


def _vote(neighbor_labels: np.ndarray) -> np.ndarray:
    """Majority label per row of (n, k) labels, nearest first; a tie goes to the label met first."""
    n, k = neighbor_labels.shape
    counts = (neighbor_labels[:, :, None] == neighbor_labels[:, None, :]).sum(2)  # (n, k): votes for each entry's label
    best = counts.max(1, keepdims=True)
    first = np.argmax(counts == best, axis=1)  # the nearest entry among the most-voted labels
    return neighbor_labels[np.arange(n), first]


def _check_labels(labels, n: int, name: str) -> np.ndarray:
    labels = np.asarray(labels)
    if labels.ndim != 1 or len(labels) != n:
        raise ValueError(f"`{name}` must be 1-D with one label per row ({n}); got shape {labels.shape}.")
    return labels
