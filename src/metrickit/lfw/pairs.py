"""Training on given pairs only (LFW's image-restricted setting): batches of pairs and the contrastive loss on them.

The inputs hold pair ``p``'s two images at rows ``2p`` and ``2p + 1``; their class codes are ``(p, p)`` for a matched
pair and ``(p, -1 - p)`` for a mismatched one, so the objective reads each pair's label from its two codes and never
compares images of different pairs (which may or may not show the same person: that is not given).
"""

from __future__ import annotations

from typing import Iterator

import numpy as np
import torch
from torch import nn

from metrickit._types import PairIndices
from metrickit._validation import check_count
from metrickit.losses.contrastive import ContrastiveLoss
from metrickit.samplers._checks import EpochSampler

__all__ = ["GivenPairs", "PairBatchSampler"]


class PairBatchSampler(EpochSampler):
    """Batches of ``pairs_per_batch`` pairs out of ``n_pairs``, each epoch a fresh seeded permutation (continued across
    batches), as input rows ``[2p, 2p + 1, ...]``."""

    def __init__(self, n_pairs: int, pairs_per_batch: int, *, n_batches: int | None = None, seed: int = 0):
        self.n_pairs = check_count(n_pairs, "n_pairs")
        self.pairs_per_batch = check_count(pairs_per_batch, "pairs_per_batch")
        if self.pairs_per_batch > self.n_pairs:
            raise ValueError(f"`pairs_per_batch` ({self.pairs_per_batch}) is more than the {self.n_pairs} pairs.")
        super().__init__(n_batches if n_batches is not None else self.n_pairs // self.pairs_per_batch, seed)

    def __iter__(self) -> Iterator[list[int]]:
        rng = self.generator()
        needed = self.n_batches * self.pairs_per_batch
        order = np.concatenate([rng.permutation(self.n_pairs) for _ in range(-(-needed // self.n_pairs))])[:needed]
        for batch in order.reshape(self.n_batches, self.pairs_per_batch):
            yield np.stack([2 * batch, 2 * batch + 1], 1).ravel().tolist()


class GivenPairs(nn.Module):
    """The contrastive loss (margin ``margin``) over the batch's given pairs only; progress: the share of active pairs."""

    progress_name = "active_fraction"

    def __init__(self, margin: float = 1.0):
        super().__init__()
        self.loss = ContrastiveLoss(margin)

    def forward(self, embeddings: torch.Tensor, codes: torch.Tensor) -> tuple[torch.Tensor, float]:
        first = torch.arange(0, len(codes), 2, device=codes.device)
        same = codes[first] == codes[first + 1]
        indices = PairIndices(first[same], first[same] + 1, first[~same], first[~same] + 1)
        return self.loss(embeddings, indices=indices), self.loss.active_fraction
