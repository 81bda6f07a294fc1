"""Triplet miners over a labelled batch, optionally against a reference set (cross-batch memory).

Every miner works on the (batch_size, n_ref) distance matrix in the units chosen by ``squared``
(squared Euclidean by default, matching :class:`~metrickit.losses.TripletMarginLoss`), runs under
``torch.no_grad()``, and returns :class:`~metrickit._types.TripletIndices`. Without a reference set
a point is never its own positive. Memory is O(batch_size * n_ref) besides the returned indices.
"""

from __future__ import annotations

from typing import Literal

import torch
from torch import nn

from metrickit._tensor_validation import check_batch, check_margin
from metrickit._types import TripletIndices
from metrickit.distances.tensor import pairwise_squared_distances, to_units
from metrickit.miners._indices import LabelMasks, anchor_blocks, label_masks, positive_slots

__all__ = ["BatchAllMiner", "BatchHardMiner", "RandomTripletMiner", "SemiHardMiner", "TripletMiner"]


class TripletMiner(nn.Module):
    """Base: validates the batch, builds distances and masks, and calls :meth:`mine`."""

    def __init__(self, *, squared: bool = True, working_memory: float | None = None):
        super().__init__()
        self.squared = bool(squared)
        self.working_memory = working_memory

    @torch.no_grad()
    def forward(
        self,
        embeddings: torch.Tensor,
        labels: torch.Tensor,
        ref_embeddings: torch.Tensor | None = None,
        ref_labels: torch.Tensor | None = None,
    ) -> TripletIndices:
        """Triplets of ``embeddings`` (batch_size, embedding_dim) with integer ``labels`` (batch_size,)."""
        batch = check_batch(embeddings, labels, ref_embeddings, ref_labels)
        distances = to_units(pairwise_squared_distances(embeddings, ref_embeddings), self.squared)  # (batch, n_ref)
        masks = label_masks(batch.labels, None if batch.same else batch.ref_labels)
        return self.mine(distances, masks)

    def mine(self, distances: torch.Tensor, masks: LabelMasks) -> TripletIndices:
        raise NotImplementedError


def _empty(device: torch.device) -> TripletIndices:
    empty = torch.zeros(0, dtype=torch.int64, device=device)
    return TripletIndices(empty, empty.clone(), empty.clone())


def _enumerate(distances: torch.Tensor, masks: LabelMasks, select, working_memory: float | None) -> TripletIndices:
    """Triplets (a, p, n) with ``select(d_ap, d_an)`` true, ordered by anchor, positive, negative; blockwise."""
    slots = positive_slots(masks.positive)
    ap = distances.gather(1, slots.index)  # (n_query, n_slots)
    bytes_per_anchor = slots.index.shape[1] * distances.shape[1] * (distances.element_size() + 3)
    parts = []
    for rows in anchor_blocks(len(distances), bytes_per_anchor, working_memory):
        keep = slots.valid[rows, :, None] & masks.negative[rows, None, :]  # (b, s, r)
        keep &= select(ap[rows, :, None], distances[rows, None, :])
        local, slot, negative = torch.nonzero(keep, as_tuple=True)
        anchor = local + rows.start
        parts.append((anchor, slots.index[anchor, slot], negative))
    if not parts:
        return _empty(distances.device)
    return TripletIndices(*(torch.cat(column) for column in zip(*parts)))


class BatchAllMiner(TripletMiner):
    """Every triplet that violates the margin: ``d(a, n) - d(a, p) < margin`` (open end at the margin).

    Parameters
    ----------
    margin : float, default=0.2
        In the distance's units (squared by default).
    """

    def __init__(self, margin: float = 0.2, *, squared: bool = True, working_memory: float | None = None):
        super().__init__(squared=squared, working_memory=working_memory)
        self.margin = check_margin(margin)

    def mine(self, distances: torch.Tensor, masks: LabelMasks) -> TripletIndices:
        return _enumerate(distances, masks, lambda ap, an: an - ap < self.margin, self.working_memory)


class SemiHardMiner(TripletMiner):
    """Semi-hard triplets, in one of two documented rules.

    - ``variant="band"``: every triplet with ``0 < d(a, n) - d(a, p) <= margin`` (open at 0,
      closed at the margin), pytorch-metric-learning's ``TripletMarginMiner("semihard")``.
    - ``variant="facenet"``: one triplet per anchor-positive pair, its negative the closest one
      with ``d(a, n) > d(a, p)`` (strictly); when there is none, the negative farthest from the
      anchor, as TF-Addons' ``triplet_semihard_loss`` falls back. Ties go to the lowest index.

    Distances are in the miner's units (squared by default); ``margin`` is unused by ``facenet``.
    """

    def __init__(
        self,
        margin: float = 0.2,
        *,
        variant: Literal["band", "facenet"] = "band",
        squared: bool = True,
        working_memory: float | None = None,
    ):
        super().__init__(squared=squared, working_memory=working_memory)
        if variant not in ("band", "facenet"):
            raise ValueError(f"`variant` must be 'band' or 'facenet'; got {variant!r}.")
        self.margin = check_margin(margin)
        self.variant = variant

    def mine(self, distances: torch.Tensor, masks: LabelMasks) -> TripletIndices:
        if self.variant == "band":
            return _enumerate(distances, masks, lambda ap, an: (an > ap) & (an - ap <= self.margin), self.working_memory)
        return _facenet_semihard(distances, masks)


def _facenet_semihard(distances: torch.Tensor, masks: LabelMasks) -> TripletIndices:
    has_negative = masks.negative.any(1)
    anchor, positive = torch.nonzero(masks.positive & has_negative[:, None], as_tuple=True)
    if len(anchor) == 0:
        return _empty(distances.device)
    inf = torch.tensor(float("inf"), dtype=distances.dtype, device=distances.device)
    neg_d = torch.where(masks.negative, distances, inf)  # (n_query, n_ref)
    order = torch.argsort(neg_d, dim=1, stable=True)  # each anchor's negatives, nearest first
    sorted_d = neg_d.gather(1, order)
    ap = distances[anchor, positive]  # (n_pairs,)
    # First sorted negative strictly beyond d(a, p): searchsorted(..., right=True) per pair.
    position = torch.searchsorted(sorted_d[anchor], ap[:, None], right=True).squeeze(1)  # (n_pairs,)
    n_negatives = masks.negative.sum(1)[anchor]
    found = position < n_negatives
    farthest = torch.where(masks.negative, distances, -inf).argmax(1)  # lowest index among ties
    negative = torch.where(found, order[anchor, position.clamp_max(order.shape[1] - 1)], farthest[anchor])
    return TripletIndices(anchor, positive, negative)


class BatchHardMiner(TripletMiner):
    """Per anchor, its hardest positive (farthest) and hardest negative (closest); Hermans et al. 2017.

    Anchors without a positive or a negative are dropped; ties go to the lowest index.
    """

    def mine(self, distances: torch.Tensor, masks: LabelMasks) -> TripletIndices:
        inf = torch.tensor(float("inf"), dtype=distances.dtype, device=distances.device)
        keep = masks.positive.any(1) & masks.negative.any(1)
        positive = torch.where(masks.positive, distances, -inf).argmax(1)
        negative = torch.where(masks.negative, distances, inf).argmin(1)
        anchor = torch.nonzero(keep, as_tuple=True)[0]
        return TripletIndices(anchor, positive[anchor], negative[anchor])


class RandomTripletMiner(TripletMiner):
    """``n_per_anchor`` random valid triplets per anchor (with replacement), from its own seeded generator."""

    def __init__(self, n_per_anchor: int = 1, *, seed: int = 0, squared: bool = True):
        super().__init__(squared=squared)
        if isinstance(n_per_anchor, bool) or int(n_per_anchor) != n_per_anchor or n_per_anchor < 1:
            raise ValueError(f"`n_per_anchor` must be an integer >= 1; got {n_per_anchor!r}.")
        self.n_per_anchor = int(n_per_anchor)
        self.generator = torch.Generator().manual_seed(int(seed))

    def mine(self, distances: torch.Tensor, masks: LabelMasks) -> TripletIndices:
        keep = masks.positive.any(1) & masks.negative.any(1)
        anchor = torch.nonzero(keep, as_tuple=True)[0].repeat_interleave(self.n_per_anchor)
        if len(anchor) == 0:
            return _empty(distances.device)
        positive = torch.multinomial(masks.positive[anchor].float().cpu(), 1, generator=self.generator).squeeze(1)
        negative = torch.multinomial(masks.negative[anchor].float().cpu(), 1, generator=self.generator).squeeze(1)
        return TripletIndices(anchor, positive.to(anchor.device), negative.to(anchor.device))
