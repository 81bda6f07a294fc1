"""Classification losses whose head is a set of class weight vectors on the unit sphere: ArcFace, CosFace and
sub-center ArcFace. The head's weights belong to the loss (trained with it, saved in checkpoints, left out of the
model file); :meth:`logits` uses it as a classifier."""

from __future__ import annotations

import torch
from torch import nn

from metrickit._loss_settings import check_loss_margin, check_positive_finite
from metrickit._tensor_validation import check_embeddings, check_labels, check_reduction
from metrickit._validation import check_count
from metrickit.losses.functional import MarginRule, Reduction, batch_accuracy, fused_margin_softmax_loss

__all__ = ["ArcFaceLoss", "ClassHead", "CosFaceLoss", "SoftmaxLoss", "SubCenterArcFaceLoss"]


class ClassHead(nn.Module):
    """Parameters of one or more vectors per class, of shape (n_classes * per_class, embedding_dim), for a loss that
    owns them. ``learning_rate_scale`` multiplies the loop's learning rate for them (their own parameter group)."""

    learning_rate_scale: float = 1.0

    def __init__(self, n_classes: int, embedding_dim: int, per_class: int = 1):
        super().__init__()
        n_classes, embedding_dim = check_count(n_classes, "n_classes"), check_count(embedding_dim, "embedding_dim")
        per_class = check_count(per_class, "per_class")
        if n_classes < 2:
            raise ValueError(f"`n_classes` must be at least 2 (a classifier needs two classes); got {n_classes}.")
        self.n_classes, self.embedding_dim, self.per_class = n_classes, embedding_dim, per_class
        self.weight = nn.Parameter(torch.empty(n_classes * per_class, embedding_dim))
        self.accuracy: float | None = None  # of the last call's batch, the head as a classifier

    def scored(self, cosines: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        """``cosines``, after recording the batch's accuracy as a classifier (the class of the highest cosine, as
        :meth:`logits` ranks them), so training reports it without a second pass through the head."""
        self.accuracy = batch_accuracy(cosines, labels)
        return cosines

    def check(self, embeddings: torch.Tensor, labels: torch.Tensor | None) -> torch.Tensor:
        """Checked class codes of ``embeddings`` (batch_size, embedding_dim): integers in ``[0, n_classes)``. The values'
        finiteness is checked on the loss instead (:meth:`checked`): one number rather than a pass over the batch."""
        check_embeddings(embeddings, dim=self.embedding_dim, finite=False)
        labels = check_labels(labels, len(embeddings), embeddings.device)
        if len(labels):
            low, high = (int(v) for v in torch.aminmax(labels))
            if low < 0 or high >= self.n_classes:
                raise ValueError(f"`labels` must be class codes in [0, {self.n_classes}) for this loss's {self.n_classes} classes; "
                                 f"got codes from {low} to {high}.")
        return labels

    @staticmethod
    def checked(loss: torch.Tensor, embeddings: torch.Tensor) -> torch.Tensor:
        """``loss``, once it is finite; else the error naming the non-finite embeddings (if they are the cause)."""
        if not bool(torch.isfinite(loss).all()):
            check_embeddings(embeddings)
        return loss

    def cosines(self, embeddings: torch.Tensor) -> torch.Tensor:
        """Cosine of each embedding with each class (its closest vector when a class has several): (batch_size, n_classes).

        The class vectors are normalised; with fewer class vectors than embedding dimensions the embeddings' norms divide
        the products, which is less work than normalising the batch (a zero embedding has cosine 0 with every class)."""
        unit = nn.functional.normalize(self.weight.to(embeddings.dtype), dim=1)
        if len(unit) > embeddings.shape[1]:
            cos = nn.functional.normalize(embeddings, dim=1) @ unit.T
        else:
            cos = (embeddings @ unit.T) / torch.linalg.vector_norm(embeddings, dim=1, keepdim=True).clamp_min(1e-12)
        return cos if self.per_class == 1 else cos.view(len(embeddings), self.n_classes, self.per_class).max(2).values


class _MarginSoftmax(ClassHead):
    rule: MarginRule
    name: str  # its entry in metrickit._loss_settings

    def __init__(self, n_classes: int, embedding_dim: int, margin: float, scale: float, *, sub_centers: int = 1,
                 reduction: Reduction = "mean"):
        super().__init__(n_classes, embedding_dim, sub_centers)
        self.margin, self.scale = check_loss_margin(self.name, margin), check_positive_finite(scale, "scale")
        self.reduction = check_reduction(reduction)
        self.active_fraction: float | None = None
        nn.init.normal_(self.weight)

    def logits(self, embeddings: torch.Tensor) -> torch.Tensor:
        """``scale * cos`` per class, without the margin: the head as a classifier."""
        return self.cosines(embeddings) * self.scale

    def forward(self, embeddings: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        labels = self.check(embeddings, labels)
        stats: dict = {}
        loss = fused_margin_softmax_loss(embeddings, self.weight.to(embeddings.dtype), labels, self.margin, self.scale, self.rule,
                                         self.per_class, self.reduction, stats)
        self.accuracy = stats["accuracy"]
        return self.checked(loss, embeddings)

    def extra_repr(self) -> str:
        return (f"n_classes={self.n_classes}, embedding_dim={self.embedding_dim}, margin={self.margin}, scale={self.scale}"
                + (f", sub_centers={self.per_class}" if self.per_class > 1 else ""))


class ArcFaceLoss(_MarginSoftmax):
    """ArcFace (Deng et al. 2019): softmax over ``scale * cos``, the own class's angle increased by ``margin``.

    Parameters
    ----------
    n_classes, embedding_dim : int
        The head holds one unit vector per class.
    margin : float, default=0.5
        Additive angular margin, in **radians** (0.5 rad = 28.6 degrees; pytorch-metric-learning takes degrees).
    scale : float, default=64.0
        ``s``: the logits are ``s * cos``.
    reduction : {'mean', 'sum', 'none', 'mean_nonzero'}, default='mean'
    """

    rule, name = "arcface", "arcface"

    def __init__(self, n_classes: int, embedding_dim: int, margin: float = 0.5, scale: float = 64.0, *, reduction: Reduction = "mean"):
        super().__init__(n_classes, embedding_dim, margin, scale, reduction=reduction)


class CosFaceLoss(_MarginSoftmax):
    """CosFace / large-margin cosine loss (Wang et al. 2018): softmax over ``scale * cos``, the own class's cosine
    lowered by ``margin``.

    Parameters
    ----------
    margin : float, default=0.35
        Additive cosine margin, in **cosine units** (between 0 and 1).
    scale : float, default=64.0
    """

    rule, name = "cosface", "cosface"

    def __init__(self, n_classes: int, embedding_dim: int, margin: float = 0.35, scale: float = 64.0, *, reduction: Reduction = "mean"):
        super().__init__(n_classes, embedding_dim, margin, scale, reduction=reduction)


class SubCenterArcFaceLoss(_MarginSoftmax):
    """Sub-center ArcFace (Deng et al. 2020): ``sub_centers`` vectors per class, a class's cosine is its closest
    one's, then ArcFace; noisy samples gather at non-dominant sub-centers instead of pulling the class apart.

    Parameters
    ----------
    margin : float, default=0.5
        In **radians**, as ArcFace.
    scale : float, default=64.0
    sub_centers : int, default=3
        ``K`` vectors per class; the weight is (n_classes * K, embedding_dim), class ``c``'s rows ``c*K .. c*K + K-1``.
    """

    rule, name = "arcface", "subcenter-arcface"

    def __init__(self, n_classes: int, embedding_dim: int, margin: float = 0.5, scale: float = 64.0, *, sub_centers: int = 3,
                 reduction: Reduction = "mean"):
        super().__init__(n_classes, embedding_dim, margin, scale, sub_centers=sub_centers, reduction=reduction)


class SoftmaxLoss(nn.Module):
    """The classifier baseline: a linear layer (with bias) over the training classes and cross-entropy. Its embedding
    is the layer's input; the classifier is thrown away after training."""

    learning_rate_scale = 1.0

    def __init__(self, n_classes: int, embedding_dim: int):
        super().__init__()
        self.n_classes = n_classes
        self.head = nn.Linear(embedding_dim, n_classes)
        self.active_fraction: float | None = None
        self.accuracy: float | None = None  # of the last call's batch

    def logits(self, embeddings: torch.Tensor) -> torch.Tensor:
        return self.head(embeddings)

    def forward(self, embeddings: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        logits = self.head(embeddings)
        self.accuracy = batch_accuracy(logits, labels)
        return nn.functional.cross_entropy(logits, labels)
