"""Losses on the cosine similarities of a batch (or of a batch against a reference set such as a cross-batch
memory): Multi-Similarity, supervised contrastive (SupCon) and NT-Xent."""

from __future__ import annotations

import torch
from torch import nn

from metrickit._loss_settings import check_loss_margin, check_positive_finite
from metrickit._tensor_validation import check_batch, check_reduction
from metrickit._types import PairIndices
from metrickit.distances.tensor import cosine_similarities
from metrickit.losses.functional import Reduction, multi_similarity_loss, ntxent_loss, supcon_loss
from metrickit.miners._indices import label_masks, pair_masks

__all__ = ["MultiSimilarityLoss", "NTXentLoss", "SupConLoss"]


class _SimilarityLoss(nn.Module):
    """Cosine similarities of the batch against itself or ``ref_embeddings``, the pairs from labels or ``indices``."""

    def __init__(self, reduction: Reduction):
        super().__init__()
        self.reduction = check_reduction(reduction)
        self.active_fraction: float | None = None

    def forward(
        self,
        embeddings: torch.Tensor,
        labels: torch.Tensor | None = None,
        *,
        indices: PairIndices | None = None,
        ref_embeddings: torch.Tensor | None = None,
        ref_labels: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """Loss of ``embeddings`` (batch_size, embedding_dim) over the pairs of ``indices``, else every pair of ``labels``
        (within the batch a point is not its own positive)."""
        batch = check_batch(embeddings, labels, ref_embeddings, ref_labels, need_labels=indices is None)
        similarities = cosine_similarities(embeddings, None if batch.same else batch.ref)
        if indices is None:
            positive, negative = label_masks(batch.labels, None if batch.same else batch.ref_labels)
        else:
            positive, negative = pair_masks(indices, len(embeddings), len(batch.ref))
        return self._loss(similarities, positive, negative)

    def _loss(self, similarities: torch.Tensor, positive: torch.Tensor, negative: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError


class MultiSimilarityLoss(_SimilarityLoss):
    """Multi-Similarity loss (Wang et al. 2019); pair it with :class:`~metrickit.miners.MultiSimilarityMiner`.

    Parameters
    ----------
    alpha : float, default=2.0
        Scale of the positive pairs' term.
    beta : float, default=50.0
        Scale of the negative pairs' term.
    base : float, default=0.5
        ``lambda``, the similarity both terms are measured from, in **cosine units**.
    reduction : {'mean', 'sum', 'none', 'mean_nonzero'}, default='mean'
        Over anchors.
    """

    def __init__(self, alpha: float = 2.0, beta: float = 50.0, base: float = 0.5, *, reduction: Reduction = "mean"):
        super().__init__(reduction)
        self.alpha, self.beta = check_positive_finite(alpha, "alpha"), check_positive_finite(beta, "beta")
        self.base = check_loss_margin("multi-similarity", base, "base")

    def _loss(self, similarities, positive, negative):
        return multi_similarity_loss(similarities, positive, negative, self.alpha, self.beta, self.base, self.reduction)

    def extra_repr(self) -> str:
        return f"alpha={self.alpha}, beta={self.beta}, base={self.base}"


class SupConLoss(_SimilarityLoss):
    """Supervised contrastive loss (Khosla et al. 2020): every same-class pair is a positive of a softmax over the
    anchor's other pairs.

    Parameters
    ----------
    temperature : float, default=0.1
        ``t``: the cosines are divided by it.
    reduction : {'mean_nonzero', 'mean', 'sum', 'none'}, default='mean_nonzero'
        Over anchors; ``mean_nonzero`` leaves out anchors without positives.
    """

    def __init__(self, temperature: float = 0.1, *, reduction: Reduction = "mean_nonzero"):
        super().__init__(reduction)
        self.temperature = check_positive_finite(temperature, "temperature")

    def _loss(self, similarities, positive, negative):
        return supcon_loss(similarities, positive, negative, self.temperature, self.reduction)

    def extra_repr(self) -> str:
        return f"temperature={self.temperature}"


class NTXentLoss(_SimilarityLoss):
    """NT-Xent (SimCLR, Chen et al. 2020): with two augmented views of each image labelled by the image's index, each
    view must pick out the other among the batch.

    Parameters
    ----------
    temperature : float, default=0.07
        ``t``: the cosines are divided by it.
    reduction : {'mean', 'sum', 'none', 'mean_nonzero'}, default='mean'
        Over positive pairs.
    """

    def __init__(self, temperature: float = 0.07, *, reduction: Reduction = "mean"):
        super().__init__(reduction)
        self.temperature = check_positive_finite(temperature, "temperature")

    def _loss(self, similarities, positive, negative):
        return ntxent_loss(similarities, positive, negative, self.temperature, self.reduction)

    def extra_repr(self) -> str:
        return f"temperature={self.temperature}"
