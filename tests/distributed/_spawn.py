"""Run a function on N processes joined by gloo, as torchrun would start them, and collect each rank's result."""

from __future__ import annotations

import os
import socket
import tempfile
from pathlib import Path
from typing import Any, Callable

import torch
import torch.multiprocessing as mp


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _rank(rank: int, size: int, port: int, folder: str, function: Callable, args: tuple) -> None:
    os.environ.update(WORLD_SIZE=str(size), RANK=str(rank), LOCAL_RANK=str(rank), LOCAL_WORLD_SIZE=str(size),
                      MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    from metrickit import distributed

    distributed.init_from_environment(threads=1, announce=False)
    try:
        torch.save(function(*args), Path(folder) / f"rank{rank}.pt")
    finally:
        distributed.shutdown()


def run_ranks(function: Callable[..., Any], *args: Any, size: int = 2) -> list[Any]:
    """``function(*args)`` on ``size`` spawned processes (1 thread each, gloo); each rank's return value, in rank order.
    ``function`` must be importable (module level); a failing rank fails the call."""
    with tempfile.TemporaryDirectory() as folder:
        mp.start_processes(_rank, args=(size, _free_port(), folder, function, args), nprocs=size, start_method="spawn")
        return [torch.load(Path(folder) / f"rank{r}.pt", weights_only=False) for r in range(size)]
