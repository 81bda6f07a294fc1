"""Named index tuples that miners return and losses accept (never bare 3- or 4-tuples)."""

from __future__ import annotations

from typing import NamedTuple

import torch

__all__ = ["PairIndices", "TripletIndices"]


class TripletIndices(NamedTuple):
    """Triplets as three aligned int64 tensors of shape (n_triplets,).

    ``anchor`` indexes the embeddings; ``positive`` and ``negative`` index the reference set
    (the embeddings themselves unless ``ref_embeddings`` is given).
    """

    anchor: torch.Tensor
    positive: torch.Tensor
    negative: torch.Tensor

    def __len__(self) -> int:  # the number of triplets, not of fields
        return int(self.anchor.numel())


class PairIndices(NamedTuple):
    """Positive pairs ``(pos_anchor, positive)`` and negative pairs ``(neg_anchor, negative)``, int64 tensors."""

    pos_anchor: torch.Tensor
    positive: torch.Tensor
    neg_anchor: torch.Tensor
    negative: torch.Tensor
