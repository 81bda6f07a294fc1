"""Threads: the counts set once at an entry point (the CLI's ``--threads``, a bench script's ``--threads``) and read back
for provenance, and a pool for blockwise numpy work (as many threads as BLAS may use, each block single-threaded)."""

from __future__ import annotations

import os
import sys
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import Callable, Iterable, Iterator, TypeVar

from threadpoolctl import threadpool_info, threadpool_limits

__all__ = ["Workers", "blas_threads", "current_threads", "limit_threads", "threads_limited"]

_ENV = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS")


def limit_threads(n: int | None) -> None:
    """Use ``n`` threads from now on: BLAS (threadpoolctl), torch (now if imported, else when it is) and OpenMP."""
    if n is None:
        return
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ValueError(f"`threads` must be an integer >= 1; got {n!r}.")
    for name in _ENV:
        os.environ[name] = str(n)  # read by torch and OpenMP runtimes loaded later
    threadpool_limits(limits=n)
    if "torch" in sys.modules:
        sys.modules["torch"].set_num_threads(n)


@contextmanager
def threads_limited(n: int | None) -> Iterator[None]:
    """:func:`limit_threads` for the duration of a block (a CLI command), then the previous counts again."""
    if n is None:
        yield
        return
    saved_env = {name: os.environ.get(name) for name in _ENV}
    saved_torch = sys.modules["torch"].get_num_threads() if "torch" in sys.modules else None
    with threadpool_limits(limits=n):
        limit_threads(n)
        try:
            yield
        finally:
            for name, value in saved_env.items():
                if value is None:
                    os.environ.pop(name, None)
                else:
                    os.environ[name] = value
            if "torch" in sys.modules:
                sys.modules["torch"].set_num_threads(saved_torch or os.cpu_count() or 1)


def current_threads() -> int:
    """The threads compute runs on: torch's when it is loaded, else the BLAS pool's."""
    if "torch" in sys.modules:
        return int(sys.modules["torch"].get_num_threads())
    return blas_threads()


T = TypeVar("T")


def blas_threads() -> int:
    """Threads the loaded BLAS may use now (1 when none is reported)."""
    return max((info["num_threads"] for info in threadpool_info() if info["user_api"] == "blas"), default=1)


class Workers:
    """A fixed pool that maps a function over blocks, in order; one thread runs inline without a pool.

    numpy and scipy release the GIL inside their loops, so blocks of gathers, reductions and sparse
    products run in parallel. Use as a context manager, or call :meth:`close`.
    """

    def __init__(self, n_threads: int = 1):
        self.n_threads = max(1, int(n_threads))
        self._pool = ThreadPoolExecutor(self.n_threads) if self.n_threads > 1 else None

    def map(self, function: Callable[..., T], items: Iterable) -> list[T]:
        items = list(items)
        if self._pool is None or len(items) < 2:
            return [function(item) for item in items]
        return list(self._pool.map(function, items))

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown()
            self._pool = None

    def __enter__(self) -> "Workers":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
