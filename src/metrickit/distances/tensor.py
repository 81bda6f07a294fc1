"""Distances between torch tensors, with gradients that stay finite at zero distance.

Kept apart from :mod:`metrickit.distances.functional` so the numpy side never imports torch.
"""

from __future__ import annotations

import torch

__all__ = ["cosine_similarities", "paired_squared_distances", "pairwise_squared_distances", "safe_sqrt", "to_units"]


def pairwise_squared_distances(query: torch.Tensor, ref: torch.Tensor | None = None) -> torch.Tensor:
    """Squared Euclidean distances, shape (n_query, n_ref), clamped at zero.

    Uses ``|q|^2 + |r|^2 - 2 q.r`` (one matrix product); with ``ref=None`` the reference is
    ``query`` and the diagonal is exactly zero.
    """
    same = ref is None
    ref = query if same else ref
    norms = (query * query).sum(1, keepdim=True) + (ref * ref).sum(1)[None, :]  # (n_query, n_ref)
    d2 = torch.addmm(norms, query, ref.T, alpha=-2.0).clamp_min_(0.0)  # in place: fewer n_query x n_ref temporaries
    if same:
        d2.diagonal().zero_()
    return d2


def paired_squared_distances(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Squared Euclidean distance between ``a[i]`` and ``b[i]``, shape (n,), from the differences (no cancellation)."""
    diff = a - b
    return (diff * diff).sum(1)


def safe_sqrt(d2: torch.Tensor) -> torch.Tensor:
    """``sqrt(d2)`` whose gradient at ``d2 = 0`` is 0 rather than infinite (a subgradient)."""
    positive = d2 > 0
    return torch.where(positive, d2.clamp_min(torch.finfo(d2.dtype).tiny).sqrt(), torch.zeros_like(d2))


def to_units(d2: torch.Tensor, squared: bool) -> torch.Tensor:
    """Squared distances as they are, or their square roots (``squared=False``)."""
    return d2 if squared else safe_sqrt(d2)


def cosine_similarities(query: torch.Tensor, ref: torch.Tensor | None = None) -> torch.Tensor:
    """Cosine similarity of every row of ``query`` with every row of ``ref`` (``query`` itself when None), shape
    (n_query, n_ref); a zero row has similarity 0 with everything (rows are scaled by ``1 / max(norm, 1e-12)``)."""
    q = torch.nn.functional.normalize(query, dim=1)
    return q @ (q if ref is None else torch.nn.functional.normalize(ref, dim=1)).T
