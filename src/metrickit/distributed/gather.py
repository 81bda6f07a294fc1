"""Collectives for training on several processes: the global batch from every rank's part (with gradients), rows of
unequal parts in order (for evaluation), and sums."""

from __future__ import annotations

import torch
import torch.distributed as dist

from metrickit.distributed.context import world

__all__ = ["all_sum", "gather_batch", "gather_rows"]


class _GatherBatch(torch.autograd.Function):
    """The ranks' equal parts concatenated in rank order; backward keeps this rank's rows, times the world size.

    Every rank computes the same loss on the gathered global batch, so the gradient of the gathered rows is the same on
    every rank. DistributedDataParallel averages the model's gradients over the N ranks; scaling this rank's rows by N
    makes that average the single-process gradient of the global batch. Parameters the loss owns (class weights,
    proxies) see the global batch on every rank, already hold its full gradient and are not averaged.
    """

    @staticmethod
    def forward(ctx, part: torch.Tensor) -> torch.Tensor:
        here = world()
        parts = [torch.empty_like(part) for _ in range(here.size)]
        dist.all_gather(parts, part.contiguous())
        ctx.rows, ctx.rank, ctx.size = len(part), here.rank, here.size
        return torch.cat(parts)

    @staticmethod
    def backward(ctx, grad: torch.Tensor) -> torch.Tensor:
        return grad[ctx.rank * ctx.rows : (ctx.rank + 1) * ctx.rows] * ctx.size


def gather_batch(part: torch.Tensor) -> torch.Tensor:
    """The global batch (rank 0's rows first) from this rank's ``part``; the identity for one process. Every rank must
    pass the same number of rows (see :meth:`World.shard`)."""
    if not world().active:
        return part
    return _GatherBatch.apply(part)


def gather_rows(part: torch.Tensor) -> torch.Tensor:
    """Rows of parts of any lengths, concatenated in rank order on every rank (no gradient); padding is dropped."""
    here = world()
    if not here.active:
        return part
    device = torch.device("cuda", torch.cuda.current_device()) if here.backend == "nccl" else torch.device("cpu")
    counts = [torch.zeros(1, dtype=torch.int64, device=device) for _ in range(here.size)]
    dist.all_gather(counts, torch.tensor([len(part)], dtype=torch.int64, device=device))
    sizes = [int(c) for c in counts]
    padded = torch.zeros((max(sizes), *part.shape[1:]), dtype=part.dtype, device=device)
    padded[: len(part)] = part.detach()
    parts = [torch.empty_like(padded) for _ in range(here.size)]
    dist.all_gather(parts, padded)
    return torch.cat([p[:n] for p, n in zip(parts, sizes)]).to(part.device)


def all_sum(values: torch.Tensor) -> torch.Tensor:
    """``values`` summed over every rank (a copy; the input for one process)."""
    if not world().active:
        return values
    total = values.clone()
    dist.all_reduce(total)
    return total
