"""Triplet margin loss (Schroff et al. 2015, FaceNet) as a torch module."""

from __future__ import annotations

import torch
from torch import nn

from metrickit._tensor_validation import check_batch, check_margin, check_reduction
from metrickit._types import TripletIndices
from metrickit.distances.tensor import paired_squared_distances, pairwise_squared_distances, to_units
from metrickit.losses.functional import Reduction, TripletRule, fused_triplet_loss, reduce_losses, triplet_margin_loss
from metrickit.miners._indices import label_masks

__all__ = ["TripletMarginLoss"]


class TripletMarginLoss(nn.Module):
    """``max(0, d(a, p)^2 - d(a, n)^2 + margin)`` over mined or all valid triplets.

    Parameters
    ----------
    margin : float, default=0.2
        ``alpha``, in the units of the distance (squared by default).
    squared : bool, default=True
        Squared Euclidean distances (FaceNet); ``False`` uses plain distances.
    triplets : {'all', 'semihard'}, default='all'
        Which triplets to use when no ``indices`` are passed: every valid one (batch-all) or the band
        ``0 < d(a, n) - d(a, p) <= margin``. Both run fused, without listing the triplets.
    reduction : {'mean_nonzero', 'mean', 'sum', 'none'}, default='mean_nonzero'
        ``mean_nonzero`` averages over the triplets with a positive loss. ``none`` needs ``indices``
        and returns one loss per triplet, aligned with them.

    Examples
    --------
    >>> import torch
    >>> loss = TripletMarginLoss(margin=0.2)
    >>> embeddings = torch.tensor([[0.0, 0.0], [0.5, 0.0], [0.6, 0.0]])
    >>> indices = TripletIndices(torch.tensor([0]), torch.tensor([1]), torch.tensor([2]))
    >>> round(float(loss(embeddings, indices=indices)), 4)  # 0.25 - 0.36 + 0.2
    0.09
    """

    def __init__(
        self,
        margin: float = 0.2,
        *,
        squared: bool = True,
        triplets: TripletRule = "all",
        reduction: Reduction = "mean_nonzero",
    ):
        super().__init__()
        if triplets not in ("all", "semihard"):
            raise ValueError(f"`triplets` must be 'all' or 'semihard'; got {triplets!r}.")
        self.margin = check_margin(margin)
        self.squared = bool(squared)
        self.triplets = triplets
        self.reduction = check_reduction(reduction)
        self.active_fraction: float | None = None  # of the last call's triplets, those with a positive loss

    def forward(
        self,
        embeddings: torch.Tensor,
        labels: torch.Tensor | None = None,
        *,
        indices: TripletIndices | None = None,
        ref_embeddings: torch.Tensor | None = None,
        ref_labels: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """Loss of ``embeddings`` (batch_size, embedding_dim); triplets from ``indices`` or from ``labels``."""
        batch = check_batch(embeddings, labels, ref_embeddings, ref_labels, need_labels=indices is None)
        if indices is not None:
            anchors = embeddings[indices.anchor]
            ap = to_units(paired_squared_distances(anchors, batch.ref[indices.positive]), self.squared)
            an = to_units(paired_squared_distances(anchors, batch.ref[indices.negative]), self.squared)
            per_triplet = triplet_margin_loss(ap, an, self.margin, "none")
            self.active_fraction = float((per_triplet > 0).float().mean()) if len(per_triplet) else 0.0
            return reduce_losses(per_triplet, self.reduction, ap)
        distances = to_units(pairwise_squared_distances(embeddings, ref_embeddings), self.squared)  # (batch, n_ref)
        masks = label_masks(batch.labels, None if batch.same else batch.ref_labels)
        stats: dict = {}
        loss = fused_triplet_loss(distances, masks, self.margin, self.triplets, self.reduction, stats)
        self.active_fraction = stats["n_active"] / stats["n_selected"] if stats["n_selected"] else 0.0
        return loss

    def extra_repr(self) -> str:
        return f"margin={self.margin}, squared={self.squared}, triplets={self.triplets!r}, reduction={self.reduction!r}"
