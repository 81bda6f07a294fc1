"""Summaries over repeated runs (folds, seeds) of a protocol."""

from __future__ import annotations

from typing import Sequence

import numpy as np

__all__ = ["mean_sd"]


def mean_sd(values: Sequence[float | None]) -> dict[str, float] | None:
    """``{'mean', 'sd'}`` (sample sd; 0 for one value) of ``values``, or None if there are none or any is missing."""
    if not values or any(v is None for v in values):
        return None
    array = np.asarray(values, dtype=float)
    return {"mean": float(array.mean()), "sd": float(array.std(ddof=1)) if len(array) > 1 else 0.0}
