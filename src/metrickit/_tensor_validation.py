"""Checks for tensors at the torch modules' boundaries: they raise naming the argument, what was got and what was expected."""

from __future__ import annotations

from typing import NamedTuple

import torch

__all__ = ["Batch", "check_batch", "check_embeddings", "check_labels", "check_margin", "check_reduction", "REDUCTIONS"]

REDUCTIONS = ("mean_nonzero", "mean", "sum", "none")


def check_embeddings(embeddings: torch.Tensor, name: str = "embeddings", *, dim: int | None = None, finite: bool = True) -> torch.Tensor:
    """A 2-D floating tensor of finite values, shape (batch_size, embedding_dim). ``finite=False`` skips the pass over
    the values (a caller that checks its result instead, as :meth:`metrickit.losses.ClassHead.checked` does)."""
    if not isinstance(embeddings, torch.Tensor):
        raise TypeError(f"`{name}` must be a torch.Tensor; got {type(embeddings).__name__}.")
    if embeddings.ndim != 2:
        raise ValueError(f"`{name}` must be 2-D (batch_size, embedding_dim); got shape {tuple(embeddings.shape)}.")
    if not embeddings.is_floating_point():
        raise TypeError(f"`{name}` must have a floating dtype; got {embeddings.dtype}.")
    if dim is not None and embeddings.shape[1] != dim:
        raise ValueError(f"`{name}` has embedding_dim {embeddings.shape[1]} but {dim} was expected.")
    if finite and not bool(torch.isfinite(embeddings).all()):
        n_nan = int(torch.isnan(embeddings).sum())
        n_inf = int(torch.isinf(embeddings).sum())
        raise ValueError(f"`{name}` must be finite; found {n_nan} NaN and {n_inf} infinite entries in shape {tuple(embeddings.shape)}.")
    return embeddings


def check_labels(labels: torch.Tensor | None, n: int, device: torch.device, name: str = "labels") -> torch.Tensor:
    """A 1-D integer tensor of length ``n``, moved to ``device``."""
    if labels is None:
        raise ValueError(f"`{name}` are required here (pass labels, or explicit `indices`).")
    if not isinstance(labels, torch.Tensor):
        labels = torch.as_tensor(labels)
    if labels.ndim != 1 or labels.shape[0] != n:
        raise ValueError(f"`{name}` must be 1-D with one label per embedding ({n}); got shape {tuple(labels.shape)}.")
    if labels.is_floating_point() or labels.is_complex() or labels.dtype == torch.bool:
        raise TypeError(f"`{name}` must have an integer dtype; got {labels.dtype}.")
    return labels.to(device)


def check_margin(margin: float, name: str = "margin") -> float:
    margin = float(margin)
    if not margin >= 0.0 or margin == float("inf"):
        raise ValueError(f"`{name}` must be a finite number >= 0; got {margin}.")
    return margin


def check_reduction(reduction: str) -> str:
    if reduction not in REDUCTIONS:
        raise ValueError(f"`reduction` must be one of {', '.join(map(repr, REDUCTIONS))}; got {reduction!r}.")
    return reduction


class Batch(NamedTuple):
    """A checked batch: the reference set is the embeddings themselves when ``same`` is True."""

    embeddings: torch.Tensor
    labels: torch.Tensor | None
    ref: torch.Tensor
    ref_labels: torch.Tensor | None
    same: bool


def check_batch(
    embeddings: torch.Tensor,
    labels: torch.Tensor | None,
    ref_embeddings: torch.Tensor | None,
    ref_labels: torch.Tensor | None,
    *,
    need_labels: bool = True,
) -> Batch:
    """Check embeddings, labels and the optional reference set together (labels only if ``need_labels``)."""
    check_embeddings(embeddings)
    same = ref_embeddings is None
    ref = embeddings if same else check_embeddings(ref_embeddings, "ref_embeddings", dim=embeddings.shape[1])
    if need_labels:
        labels = check_labels(labels, len(embeddings), embeddings.device)
        ref_labels = labels if same else check_labels(ref_labels, len(ref), embeddings.device, "ref_labels")
    return Batch(embeddings, labels, ref, ref_labels, same)
