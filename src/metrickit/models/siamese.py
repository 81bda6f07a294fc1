"""Siamese use of an embedding network: one set of weights applied to both inputs of a pair."""

from __future__ import annotations

import torch
from torch import nn

from metrickit.distances.tensor import paired_squared_distances, to_units
from metrickit.models.embedding import EmbeddingNet

__all__ = ["SiameseNetwork"]


class SiameseNetwork(nn.Module):
    """``d(f(a), f(b))`` for pairs of inputs; the weights are shared by construction (there is one ``embedder``).

    Parameters
    ----------
    embedder : EmbeddingNet
    squared : bool, default=False
        Return squared Euclidean distances instead of plain ones.
    """

    def __init__(self, embedder: EmbeddingNet, *, squared: bool = False):
        super().__init__()
        self.embedder = embedder
        self.squared = bool(squared)

    def forward(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        """Distances, shape (batch_size,), between the embeddings of ``a[i]`` and ``b[i]``."""
        if a.shape != b.shape:
            raise ValueError(f"the two inputs of a pair must have the same shape; got {tuple(a.shape)} and {tuple(b.shape)}.")
        both = self.embedder(torch.cat([a, b]))  # one pass: the same BatchNorm statistics for both sides
        return to_units(paired_squared_distances(both[: len(a)], both[len(a) :]), self.squared)
