"""Evaluation of learned metrics: retrieval metrics (numpy; faiss when installed)."""

from metrickit.evaluation.retrieval import RetrievalReport, nearest_references, retrieval_metrics

__all__ = ["RetrievalReport", "nearest_references", "retrieval_metrics"]
