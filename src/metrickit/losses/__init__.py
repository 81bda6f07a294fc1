"""Metric-learning losses for torch embeddings (needs the ``torch`` extra)."""

from metrickit._types import PairIndices, TripletIndices
from metrickit.losses.contrastive import ContrastiveLoss, pair_indices
from metrickit.losses.functional import contrastive_loss, fused_triplet_loss, reduce_losses, triplet_margin_loss
from metrickit.losses.triplet import TripletMarginLoss

__all__ = [
    "ContrastiveLoss",
    "PairIndices",
    "TripletIndices",
    "TripletMarginLoss",
    "pair_indices",
    "contrastive_loss",
    "fused_triplet_loss",
    "reduce_losses",
    "triplet_margin_loss",
]
