"""Proxy-Anchor loss (Kim et al. 2020): one learned proxy per class, each proxy an anchor against the batch."""

from __future__ import annotations

import torch
from torch import nn

from metrickit._loss_settings import check_loss_margin, check_positive_finite
from metrickit.losses.functional import proxy_anchor_loss
from metrickit.losses.margin_softmax import ClassHead

__all__ = ["ProxyAnchorLoss"]


class ProxyAnchorLoss(ClassHead):
    """Pull each class's samples towards its proxy and push the other samples away, in cosine similarity.

    Parameters
    ----------
    n_classes, embedding_dim : int
        One proxy per class, of shape (n_classes, embedding_dim).
    margin : float, default=0.1
        ``delta``, in **cosine units**.
    alpha : float, default=32.0
        Scale (inverse temperature) of the cosines.

    The proxies train at ``learning_rate_scale`` (100) times the loop's learning rate, as the authors train them.
    """

    learning_rate_scale = 100.0

    def __init__(self, n_classes: int, embedding_dim: int, margin: float = 0.1, alpha: float = 32.0):
        super().__init__(n_classes, embedding_dim)
        self.margin = check_loss_margin("proxy-anchor", margin)
        self.alpha = check_positive_finite(alpha, "alpha")
        self.active_fraction: float | None = None
        nn.init.kaiming_normal_(self.weight, mode="fan_out")

    @property
    def proxies(self) -> nn.Parameter:
        return self.weight

    def logits(self, embeddings: torch.Tensor) -> torch.Tensor:
        """``alpha * cos`` of each embedding with each proxy: the proxies as a classifier."""
        return self.cosines(embeddings) * self.alpha

    def forward(self, embeddings: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        labels = self.check(embeddings, labels)
        cosines = self.scored(self.cosines(embeddings), labels)
        return self.checked(proxy_anchor_loss(cosines, labels, self.margin, self.alpha), embeddings)

    def extra_repr(self) -> str:
        return f"n_classes={self.n_classes}, embedding_dim={self.embedding_dim}, margin={self.margin}, alpha={self.alpha}"
