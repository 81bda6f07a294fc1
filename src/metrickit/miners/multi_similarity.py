"""The Multi-Similarity miner (Wang et al. 2019): informative pairs by relative cosine similarity."""

from __future__ import annotations

import torch
from torch import nn

from metrickit._tensor_validation import check_batch
from metrickit._types import PairIndices
from metrickit.distances.tensor import cosine_similarities
from metrickit.miners._indices import label_masks

__all__ = ["MultiSimilarityMiner"]


class MultiSimilarityMiner(nn.Module):
    """Keep a positive pair if it is less similar than the anchor's most similar negative plus ``epsilon``
    (``S_ap - epsilon < max_n S_an``) and a negative pair if it is more similar than the anchor's least similar
    positive minus ``epsilon`` (``S_an + epsilon > min_p S_ap``); similarities are cosines.

    Parameters
    ----------
    epsilon : float, default=0.1
        In **cosine units**.

    Returns :class:`~metrickit.losses.PairIndices` in anchor-major order, for
    :class:`~metrickit.losses.MultiSimilarityLoss` (or any pair loss). Without a reference set a point is not its own
    positive.
    """

    def __init__(self, epsilon: float = 0.1):
        super().__init__()
        self.epsilon = float(epsilon)
        if not 0.0 <= self.epsilon < float("inf"):
            raise ValueError(f"`epsilon` must be a finite number >= 0 (cosine units, typically 0.1); got {epsilon}.")

    @torch.no_grad()
    def forward(
        self,
        embeddings: torch.Tensor,
        labels: torch.Tensor,
        ref_embeddings: torch.Tensor | None = None,
        ref_labels: torch.Tensor | None = None,
    ) -> PairIndices:
        batch = check_batch(embeddings, labels, ref_embeddings, ref_labels)
        similarities = cosine_similarities(embeddings, None if batch.same else batch.ref)  # (batch, n_ref)
        positive, negative = label_masks(batch.labels, None if batch.same else batch.ref_labels)
        hardest_negative = similarities.masked_fill(~negative, -float("inf")).amax(1, keepdim=True)
        easiest_positive = similarities.masked_fill(~positive, float("inf")).amin(1, keepdim=True)
        pos_anchor, pos = torch.nonzero(positive & (similarities - self.epsilon < hardest_negative), as_tuple=True)
        neg_anchor, neg = torch.nonzero(negative & (similarities + self.epsilon > easiest_positive), as_tuple=True)
        return PairIndices(pos_anchor, pos, neg_anchor, neg)

    def extra_repr(self) -> str:
        return f"epsilon={self.epsilon}"
