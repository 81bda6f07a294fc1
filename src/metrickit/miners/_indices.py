"""Label masks and per-anchor positive slots shared by the miners and the fused triplet losses.

All of it is O(n_query * n_ref) memory: triplets are never listed here.
"""

from __future__ import annotations

from typing import NamedTuple

import torch

__all__ = ["LabelMasks", "PositiveSlots", "anchor_blocks", "label_masks", "pair_masks", "positive_slots"]

DEFAULT_WORKING_MEMORY = 64.0  # MiB for the (block, n_positive_slots, n_ref) temporaries of triplet enumeration


class LabelMasks(NamedTuple):
    """``positive`` and ``negative`` masks, both bool of shape (n_query, n_ref)."""

    positive: torch.Tensor
    negative: torch.Tensor


class PositiveSlots(NamedTuple):
    """Each anchor's positives as columns of the reference, padded: ``index`` (n_query, n_slots) int64, ``valid`` bool."""

    index: torch.Tensor
    valid: torch.Tensor


def label_masks(labels: torch.Tensor, ref_labels: torch.Tensor | None = None) -> LabelMasks:
    """Same-label and different-label masks; without ``ref_labels`` a point is not its own positive."""
    same = ref_labels is None
    ref_labels = labels if same else ref_labels
    equal = labels[:, None] == ref_labels[None, :]  # (n_query, n_ref)
    positive = equal.clone()
    if same:
        positive.fill_diagonal_(False)
    return LabelMasks(positive, ~equal)


def pair_masks(indices, n_query: int, n_ref: int) -> LabelMasks:
    """The pairs of a :class:`~metrickit.losses.PairIndices` as (n_query, n_ref) masks; a pair listed as both is refused."""
    device = indices.pos_anchor.device
    positive = torch.zeros((n_query, n_ref), dtype=torch.bool, device=device)
    negative = torch.zeros_like(positive)
    positive[indices.pos_anchor, indices.positive] = True
    negative[indices.neg_anchor, indices.negative] = True
    if bool((positive & negative).any()):
        raise ValueError("`indices` list a pair as both positive and negative.")
    return LabelMasks(positive, negative)


def positive_slots(positive: torch.Tensor) -> PositiveSlots:
    """The positives of each anchor in increasing column order, padded to the largest count."""
    counts = positive.sum(1)
    n_slots = int(counts.max()) if positive.numel() else 0
    rows, cols = torch.nonzero(positive, as_tuple=True)  # row-major: columns ascending within a row
    starts = torch.cumsum(counts, 0) - counts
    index = torch.zeros((len(positive), n_slots), dtype=torch.int64, device=positive.device)
    index[rows, torch.arange(len(rows), device=positive.device) - starts[rows]] = cols
    valid = torch.arange(n_slots, device=positive.device)[None, :] < counts[:, None]
    return PositiveSlots(index, valid)


def anchor_blocks(n_query: int, bytes_per_anchor: float, working_memory: float | None) -> list[slice]:
    """Blocks of anchors whose temporaries fit in ``working_memory`` MiB (at least one anchor per block)."""
    budget = (DEFAULT_WORKING_MEMORY if working_memory is None else float(working_memory)) * 2**20
    size = max(1, int(budget // max(bytes_per_anchor, 1.0)))
    return [slice(start, min(start + size, n_query)) for start in range(0, n_query, size)]
