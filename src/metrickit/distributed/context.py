"""The process group a training run belongs to: one process (the default) or the ranks torchrun started.

torchrun (``torchrun --nproc-per-node N -m metrickit ...``, multi-node through its ``--nnodes`` and
``--rdzv-endpoint``) sets ``WORLD_SIZE``, ``RANK``, ``LOCAL_RANK`` and ``LOCAL_WORLD_SIZE``; :func:`init_from_environment`
joins that group with nccl when CUDA is available and gloo otherwise. metrickit writes no launcher of its own.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Callable, TypeVar

__all__ = ["World", "init_from_environment", "launched", "on_main", "shutdown", "sync_batchnorm", "world"]

T = TypeVar("T")
_SETTINGS = {"sync_batchnorm": True}


@dataclass(frozen=True)
class World:
    """This process's place among the training processes: ``rank`` of ``size`` (``local_rank`` of ``local_size`` on
    its machine) and the collective ``backend`` ('gloo', 'nccl'; None for one process)."""

    rank: int = 0
    size: int = 1
    local_rank: int = 0
    local_size: int = 1
    backend: str | None = None

    @property
    def active(self) -> bool:
        """Whether more than one process trains (collectives are needed)."""
        return self.size > 1

    @property
    def is_main(self) -> bool:
        """Rank 0: the one that writes files and shows progress."""
        return self.rank == 0

    def shard(self, n: int, what: str = "global batch") -> slice:
        """This rank's contiguous part of ``n`` rows that the ranks split evenly (rank order = row order)."""
        if n % self.size:
            raise ValueError(f"the {what} of {n} cannot be split evenly over {self.size} processes: make it a multiple of "
                             f"{self.size} (P x K for batches, n_way x (n_shot + n_query) for episodes).")
        part = n // self.size
        return slice(self.rank * part, (self.rank + 1) * part)

    def as_dict(self) -> dict[str, Any]:
        return {"world_size": self.size, "backend": self.backend}


def world() -> World:
    """The current process group (one process when none was initialised)."""
    if not launched():  # no launcher: one process, and no need to load torch
        return World()
    import torch.distributed as dist

    if not (dist.is_available() and dist.is_initialized()):
        return World()
    size = dist.get_world_size()
    return World(dist.get_rank(), size, int(os.environ.get("LOCAL_RANK", 0)), int(os.environ.get("LOCAL_WORLD_SIZE", size)),
                 dist.get_backend())


def launched() -> bool:
    """Whether torchrun (or a compatible launcher) started this process as one of several."""
    return int(os.environ.get("WORLD_SIZE", "1")) > 1


def sync_batchnorm() -> bool:
    """Whether training on several processes reduces BatchNorm statistics over all ranks (the default; then N processes
    equal one). Without it each rank normalises by its own part of the batch, which does not equal one process."""
    return _SETTINGS["sync_batchnorm"]


def init_from_environment(threads: int | None = None, *, sync_batchnorm: bool | None = None, timeout_minutes: float = 30.0,
                          announce: bool = True) -> World:
    """Join the process group torchrun describes (a no-op for one process or when already joined).

    ``sync_batchnorm`` (when given) sets :func:`sync_batchnorm` for the runs that follow. The backend is nccl when CUDA
    is available, else gloo. Each rank uses ``threads`` torch/BLAS threads, by default floor(cores / ranks on this machine); rank 0 prints the layout once. A peer that dies makes the collectives fail
    (torchrun then ends the job) rather than wait past ``timeout_minutes``.
    """
    import torch
    import torch.distributed as dist

    if sync_batchnorm is not None:
        _SETTINGS["sync_batchnorm"] = bool(sync_batchnorm)
    if not launched() or dist.is_initialized():
        return world()
    backend = "nccl" if torch.cuda.is_available() else "gloo"
    local_size = int(os.environ.get("LOCAL_WORLD_SIZE", os.environ["WORLD_SIZE"]))
    if backend == "nccl":
        torch.cuda.set_device(int(os.environ.get("LOCAL_RANK", 0)))
    from metrickit._threads import limit_threads

    per_rank = threads if threads is not None else max(1, (os.cpu_count() or 1) // local_size)
    limit_threads(per_rank)
    dist.init_process_group(backend, timeout=timedelta(minutes=timeout_minutes))
    joined = world()
    if announce and joined.is_main:
        print(f"metrickit: {joined.size} processes ({local_size} on this machine), backend {backend}, {per_rank} thread"
              f"{'s' if per_rank > 1 else ''} each", file=sys.stderr, flush=True)
    return joined


def shutdown() -> None:
    """Leave the process group (if one was joined)."""
    import torch.distributed as dist

    if dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()


def on_main(function: Callable[[], T]) -> T:
    """Run ``function`` on rank 0 only (a check or a write) and give every rank its result; if it raised, every rank
    raises the same error, so no rank waits for a peer that failed."""
    here = world()
    if not here.active:
        return function()
    import torch.distributed as dist

    box: list[Any] = [None]
    if here.is_main:
        try:
            box[0] = ("ok", function())
        except Exception as error:  # sent to the other ranks, then raised here too
            box[0] = ("error", error)
    dist.broadcast_object_list(box, src=0)
    status, value = box[0]
    if status == "error":
        raise value
    return value
