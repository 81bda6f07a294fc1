"""Prototypical Networks (Snell et al. 2017): class prototypes are mean support embeddings; queries
are classified by a softmax over negative squared Euclidean distances to the prototypes."""

from __future__ import annotations

import torch
from torch.nn import functional as F

from metrickit.distances.tensor import pairwise_squared_distances

__all__ = ["prototype_logits", "prototypes", "prototypical_loss"]


def prototypes(support: torch.Tensor, support_labels: torch.Tensor, n_way: int) -> torch.Tensor:
    """Mean embedding per class, shape (n_way, embedding_dim); ``support_labels`` are episode labels 0..n_way-1."""
    if support_labels.min() < 0 or support_labels.max() >= n_way:
        raise ValueError(f"`support_labels` must lie in 0..{n_way - 1} (episode labels); got {int(support_labels.min())}..{int(support_labels.max())}.")
    counts = torch.bincount(support_labels, minlength=n_way)
    if bool((counts == 0).any()):
        raise ValueError(f"every one of the {n_way} classes needs a support example; class {int(torch.argmin(counts))} has none.")
    sums = torch.zeros(n_way, support.shape[1], dtype=support.dtype, device=support.device).index_add_(0, support_labels, support)
    return sums / counts[:, None].to(support.dtype)


def prototype_logits(query: torch.Tensor, protos: torch.Tensor) -> torch.Tensor:
    """Logits (n_query, n_way): negative squared Euclidean distances to the prototypes."""
    return -pairwise_squared_distances(query, protos)


def prototypical_loss(
    support: torch.Tensor, support_labels: torch.Tensor, query: torch.Tensor, query_labels: torch.Tensor, n_way: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """Cross-entropy of the queries over the prototypes, and the queries' accuracy (a float tensor)."""
    logits = prototype_logits(query, prototypes(support, support_labels, n_way))
    return F.cross_entropy(logits, query_labels), (logits.argmax(1) == query_labels).float().mean()
