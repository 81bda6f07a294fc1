"""Pure loss functions: contrastive and triplet margin, and the fused triplet loss that never lists triplets."""

from __future__ import annotations

from typing import Literal

import torch

from metrickit.miners._indices import LabelMasks, anchor_blocks, positive_slots

__all__ = ["Reduction", "contrastive_loss", "fused_triplet_loss", "reduce_losses", "triplet_margin_loss"]

Reduction = Literal["mean_nonzero", "mean", "sum", "none"]
TripletRule = Literal["all", "semihard"]


def reduce_losses(losses: torch.Tensor, reduction: Reduction, anchor: torch.Tensor) -> torch.Tensor:
    """Reduce per-tuple losses; an empty or all-zero set gives 0 still attached to ``anchor``'s graph.

    ``mean_nonzero`` averages over the tuples with a positive loss (pytorch-metric-learning's
    ``AvgNonZeroReducer``), ``mean`` over all tuples, ``sum`` adds them, ``none`` returns them.
    """
    if reduction == "none":
        return losses
    zero = (anchor * 0).sum()  # keeps backward() valid when there is nothing to average
    if losses.numel() == 0:
        return zero
    if reduction == "sum":
        return losses.sum()
    if reduction == "mean":
        return losses.mean()
    nonzero = losses > 0
    n = int(nonzero.sum())
    return losses.sum() / n if n else zero + losses.sum() * 0


def contrastive_loss(
    distances: torch.Tensor, same: torch.Tensor, margin: float = 1.0, reduction: Reduction = "mean_nonzero"
) -> torch.Tensor:
    """``y d^2 + (1 - y) max(0, margin - d)^2`` per pair (Hadsell, Chopra & LeCun 2006).

    Parameters
    ----------
    distances : Tensor of shape (n_pairs,)
        Plain (not squared) Euclidean distances.
    same : Tensor of shape (n_pairs,), bool
        True for a positive (same-class) pair.
    """
    same = same.to(torch.bool)
    losses = torch.where(same, distances.square(), torch.relu(margin - distances).square())
    return reduce_losses(losses, reduction, distances)


def triplet_margin_loss(
    ap: torch.Tensor, an: torch.Tensor, margin: float = 0.2, reduction: Reduction = "mean_nonzero"
) -> torch.Tensor:
    """``max(0, d(a, p) - d(a, n) + margin)`` per triplet, in the units of ``ap`` and ``an``.

    With squared distances (FaceNet) the margin is in squared units too.
    """
    return reduce_losses(torch.relu(ap - an + margin), reduction, ap)


def fused_triplet_loss(
    distances: torch.Tensor,
    masks: LabelMasks,
    margin: float,
    rule: TripletRule = "all",
    reduction: Reduction = "mean_nonzero",
    working_memory: float | None = None,
    stats: dict | None = None,
) -> torch.Tensor:
    """The triplet margin loss over every triplet a rule selects, without listing the triplets.

    ``rule="all"`` takes every valid triplet (batch-all); ``rule="semihard"`` the band
    ``0 < d(a, n) - d(a, p) <= margin`` (pytorch-metric-learning's semi-hard miner), both in the
    units of ``distances``. Anchors are processed in blocks of (block, n_positives, n_ref)
    temporaries within ``working_memory`` MiB; backward needs only per-pair counts, so memory stays
    O(n_query * n_ref) while the work is O(n_query * n_positives * n_ref).

    Parameters
    ----------
    distances : Tensor of shape (n_query, n_ref)
    masks : LabelMasks
        Positive and negative masks of the same shape.
    reduction : {'mean_nonzero', 'mean', 'sum'}
        ``mean`` divides by the number of selected triplets. ``'none'`` needs listed triplets: use a miner.
    stats : dict, optional
        Filled with ``n_selected`` and ``n_active`` (selected triplets with a positive loss).
    """
    if reduction == "none":
        raise ValueError("reduction='none' needs explicit triplets: mine them (e.g. BatchAllMiner) and pass `indices`.")
    slots = positive_slots(masks.positive)
    ap = distances.gather(1, slots.index)  # (n_query, n_slots)
    stats = {} if stats is None else stats
    return _FusedTriplet.apply(ap, distances, slots.valid, masks.negative, margin, rule, reduction, working_memory, stats)


class _FusedTriplet(torch.autograd.Function):
    """Loss of (ap, distances) with the gradient kept as two count matrices instead of the triplet tensor."""

    @staticmethod
    def forward(ctx, ap, distances, valid, negative, margin, rule, reduction, working_memory, stats):
        n_query, n_slots = ap.shape
        total = torch.zeros((), dtype=torch.float64, device=ap.device)
        n_active = n_selected = 0
        grad_ap = torch.zeros_like(ap)
        grad_d = torch.zeros_like(distances)
        bytes_per_anchor = n_slots * distances.shape[1] * (3 * distances.element_size() + 3)
        for rows in anchor_blocks(n_query, bytes_per_anchor, working_memory):
            a, d = ap[rows, :, None], distances[rows, None, :]  # (b, s, 1), (b, 1, r)
            selected = valid[rows, :, None] & negative[rows, None, :]  # (b, s, r)
            if rule == "semihard":
                gap = d - a
                selected &= (gap > 0) & (gap <= margin)
            violation = a - d + margin
            active = selected & (violation > 0)
            total += torch.where(active, violation, 0.0).sum(dtype=torch.float64)
            n_active += int(active.sum())
            n_selected += int(selected.sum())
            grad_ap[rows] = active.sum(2, dtype=ap.dtype)
            grad_d[rows] = -active.sum(1, dtype=ap.dtype)
        stats.update(n_selected=n_selected, n_active=n_active)
        denominator = {"sum": 1, "mean": n_selected, "mean_nonzero": n_active}[reduction]
        scale = 1.0 / denominator if denominator else 0.0
        ctx.save_for_backward(grad_ap * scale, grad_d * scale)
        return (total * scale).to(ap.dtype)

    @staticmethod
    def backward(ctx, grad_output):
        grad_ap, grad_d = ctx.saved_tensors
        return grad_ap * grad_output, grad_d * grad_output, None, None, None, None, None, None, None
