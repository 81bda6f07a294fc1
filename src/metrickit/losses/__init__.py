"""Metric-learning losses for torch embeddings (needs the ``torch`` extra)."""

from metrickit._types import PairIndices, TripletIndices
from metrickit.losses.contrastive import ContrastiveLoss, all_pairs
from metrickit.losses.functional import contrastive_loss, fused_triplet_loss, reduce_losses, triplet_margin_loss
from metrickit.losses.triplet import TripletMarginLoss

__all__ = [
    "ContrastiveLoss",
    "PairIndices",
    "TripletIndices",
    "TripletMarginLoss",
    "all_pairs",
    "contrastive_loss",
    "fused_triplet_loss",
    "reduce_losses",
    "triplet_margin_loss",
]
