"""Threads for blockwise numpy work: as many as BLAS may use, each block single-threaded inside."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Callable, Iterable, TypeVar

from threadpoolctl import threadpool_info

__all__ = ["Workers", "blas_threads"]

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
