"""Searchable galleries of embeddings on faiss (the faiss extra): exact and approximate indexes, recall against exact
search, and tuning of the search effort to a recall target. Names load on first use."""

from metrickit._lazy import lazy_attributes

_HOMES = {"KINDS": "embedding_index", "EmbeddingIndex": "embedding_index", "index_settings": "embedding_index",
          "exact_top_k": "recall", "recall_at_k": "recall", "build_index": "workflow", "evaluate_index": "workflow",
          "read_embeddings": "workflow", "search_index": "workflow", "tune_index": "workflow"}
__all__ = sorted(_HOMES)
__getattr__ = lazy_attributes(__name__, _HOMES)
