"""Contrastive loss (Hadsell, Chopra & LeCun 2006) as a torch module."""

from __future__ import annotations

import torch
from torch import nn

from metrickit._tensor_validation import check_batch, check_margin, check_reduction
from metrickit._types import PairIndices
from metrickit.distances.tensor import paired_squared_distances, safe_sqrt
from metrickit.losses.functional import Reduction, contrastive_loss, fused_contrastive_loss, reduce_losses

__all__ = ["ContrastiveLoss", "pair_indices"]


def pair_indices(labels: torch.Tensor, ref_labels: torch.Tensor | None = None) -> PairIndices:
    """Every positive and negative pair: unordered (i < j) within one batch, all (i, r) against a reference set."""
    same = ref_labels is None
    ref_labels = labels if same else ref_labels
    equal = labels[:, None] == ref_labels[None, :]
    keep = torch.ones_like(equal)
    if same:
        keep = torch.triu(keep, diagonal=1)
    pos_anchor, positive = torch.nonzero(equal & keep, as_tuple=True)
    neg_anchor, negative = torch.nonzero(~equal & keep, as_tuple=True)
    return PairIndices(pos_anchor, positive, neg_anchor, negative)


class ContrastiveLoss(nn.Module):
    """``y d^2 + (1 - y) max(0, margin - d)^2`` with plain Euclidean ``d``, over mined or all pairs.

    Parameters
    ----------
    margin : float, default=1.0
        ``m``: negative pairs closer than this are pushed apart.
    reduction : {'mean_nonzero', 'mean', 'sum', 'none'}, default='mean_nonzero'
        ``none`` returns the positive pairs' losses, then the negative pairs'.

    Without ``indices`` every pair is used, fused (:func:`~metrickit.losses.functional.fused_contrastive_loss`):
    one distance matrix, no pair lists.
    """

    def __init__(self, margin: float = 1.0, *, reduction: Reduction = "mean_nonzero"):
        super().__init__()
        self.margin = check_margin(margin)
        self.reduction = check_reduction(reduction)
        self.active_fraction: float | None = None  # of the last call's pairs, those with a positive loss

    def forward(
        self,
        embeddings: torch.Tensor,
        labels: torch.Tensor | None = None,
        *,
        indices: PairIndices | None = None,
        ref_embeddings: torch.Tensor | None = None,
        ref_labels: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """Loss of ``embeddings`` (batch_size, embedding_dim); pairs from ``indices`` or all pairs of ``labels``."""
        batch = check_batch(embeddings, labels, ref_embeddings, ref_labels, need_labels=indices is None)
        if indices is None and self.reduction != "none":
            stats: dict = {}
            positive = batch.labels[:, None] == batch.ref_labels[None, :]  # (batch, n_ref)
            loss = fused_contrastive_loss(embeddings, positive, self.margin, self.reduction, None if batch.same else batch.ref, stats)
            self.active_fraction = stats["n_active"] / stats["n_pairs"] if stats["n_pairs"] else 0.0
            return loss
        if indices is None:
            indices = pair_indices(batch.labels, None if batch.same else batch.ref_labels)
        anchors = torch.cat([indices.pos_anchor, indices.neg_anchor])
        others = torch.cat([indices.positive, indices.negative])
        distances = safe_sqrt(paired_squared_distances(embeddings[anchors], batch.ref[others]))  # (n_pairs,)
        same = torch.arange(len(anchors), device=embeddings.device) < len(indices.pos_anchor)
        per_pair = contrastive_loss(distances, same, self.margin, "none")
        self.active_fraction = float((per_pair > 0).float().mean()) if len(per_pair) else 0.0
        return reduce_losses(per_pair, self.reduction, embeddings)

    def extra_repr(self) -> str:
        return f"margin={self.margin}, reduction={self.reduction!r}"
