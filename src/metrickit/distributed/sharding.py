"""Evaluation on several processes: each rank embeds its contiguous block of the rows, the blocks are gathered in
row order, and every rank scores the same embeddings (so metrics equal one process's)."""

from __future__ import annotations

from contextlib import contextmanager
from typing import Callable, Iterator

import numpy as np
import torch

from metrickit.distributed.context import world
from metrickit.distributed.gather import gather_rows

__all__ = ["embed_sharded", "sharded_evaluation", "sharding"]

_ACTIVE = [False]


@contextmanager
def sharded_evaluation() -> Iterator[None]:
    """Within this block, :meth:`EmbeddingNet.embed` on a training process group splits its rows over the ranks.
    Every rank must make the same ``embed`` calls inside it (the training loop's validation and test scoring do)."""
    saved, _ACTIVE[0] = _ACTIVE[0], True
    try:
        yield
    finally:
        _ACTIVE[0] = saved


def sharding() -> bool:
    """Whether ``embed`` calls should be split over the ranks now."""
    return _ACTIVE[0] and world().active


def embed_sharded(embed: Callable[[torch.Tensor], torch.Tensor], inputs: torch.Tensor) -> torch.Tensor:
    """``embed(inputs)`` with the rows split into one contiguous block per rank (sizes differing by at most one),
    gathered back in row order on every rank."""
    here = world()
    bounds = np.linspace(0, len(inputs), here.size + 1).round().astype(int)
    start, stop = int(bounds[here.rank]), int(bounds[here.rank + 1])
    return gather_rows(embed(inputs[start:stop]))
