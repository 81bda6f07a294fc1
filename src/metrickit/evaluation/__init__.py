"""Evaluation of learned metrics: retrieval metrics (numpy; faiss when installed) and verification scores."""

from metrickit.evaluation.retrieval import RetrievalReport, nearest_references, retrieval_metrics
from metrickit.evaluation.verification import (
    VerificationReport,
    all_pairs,
    equal_error_rate,
    roc_auc,
    roc_curve,
    tar_at_far,
    verification_report,
)

__all__ = [
    "RetrievalReport",
    "VerificationReport",
    "all_pairs",
    "equal_error_rate",
    "nearest_references",
    "retrieval_metrics",
    "roc_auc",
    "roc_curve",
    "tar_at_far",
    "verification_report",
]
