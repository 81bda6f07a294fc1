"""Evaluation of learned metrics: retrieval metrics (numpy; faiss when installed), verification scores, and
re-identification (CMC, mAP, k-reciprocal re-ranking)."""

from metrickit.evaluation.reid import ReidReport, reid_metrics
from metrickit.evaluation.rerank import rerank_distances
from metrickit.evaluation.retrieval import RetrievalReport, nearest_references, retrieval_metrics
from metrickit.evaluation.verification import (
    VerificationReport,
    verification_pairs,
    equal_error_rate,
    roc_auc,
    roc_curve,
    tar_at_far,
    verification_report,
)

__all__ = [
    "ReidReport",
    "RetrievalReport",
    "VerificationReport",
    "verification_pairs",
    "equal_error_rate",
    "nearest_references",
    "reid_metrics",
    "rerank_distances",
    "retrieval_metrics",
    "roc_auc",
    "roc_curve",
    "tar_at_far",
    "verification_report",
]
