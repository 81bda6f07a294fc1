"""Metric-learning losses for torch embeddings (needs the ``torch`` extra).

Pair and triplet losses (contrastive, triplet), losses on cosine similarities (Multi-Similarity, SupCon, NT-Xent) and
losses that own a class head (ArcFace, CosFace, sub-center ArcFace, Proxy-Anchor). Each has a functional form in
:mod:`metrickit.losses.functional`.
"""

from metrickit._types import PairIndices, TripletIndices
from metrickit.losses.contrastive import ContrastiveLoss, pair_indices
from metrickit.losses.functional import (
    contrastive_loss,
    fused_triplet_loss,
    margin_softmax_loss,
    multi_similarity_loss,
    ntxent_loss,
    proxy_anchor_loss,
    reduce_losses,
    supcon_loss,
    triplet_margin_loss,
)
from metrickit.losses.margin_softmax import ArcFaceLoss, ClassHead, CosFaceLoss, SoftmaxLoss, SubCenterArcFaceLoss
from metrickit.losses.proxy_anchor import ProxyAnchorLoss
from metrickit.losses.similarity import MultiSimilarityLoss, NTXentLoss, SupConLoss
from metrickit.losses.triplet import TripletMarginLoss

__all__ = [
    "ArcFaceLoss",
    "ClassHead",
    "ContrastiveLoss",
    "CosFaceLoss",
    "MultiSimilarityLoss",
    "NTXentLoss",
    "PairIndices",
    "ProxyAnchorLoss",
    "SoftmaxLoss",
    "SubCenterArcFaceLoss",
    "SupConLoss",
    "TripletIndices",
    "TripletMarginLoss",
    "contrastive_loss",
    "fused_triplet_loss",
    "margin_softmax_loss",
    "multi_similarity_loss",
    "ntxent_loss",
    "pair_indices",
    "proxy_anchor_loss",
    "reduce_losses",
    "supcon_loss",
    "triplet_margin_loss",
]
