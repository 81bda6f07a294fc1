"""Input checks shared by every module: they raise with the argument's name, what was got and what was expected."""

from __future__ import annotations

from numbers import Integral, Real
from typing import Any, Sequence

import numpy as np

__all__ = [
    "check_array_2d",
    "check_count",
    "check_count_fields",
    "check_finite",
    "check_positive_int",
    "check_real",
    "check_working_memory",
    "validate_choice",
]


def check_finite(array: np.ndarray, name: str) -> np.ndarray:
    """Raise ``ValueError`` naming ``name`` when ``array`` holds NaN or infinity."""
    if not np.all(np.isfinite(array)):
        n_nan = int(np.isnan(array).sum())
        n_inf = int(np.isinf(array).sum())
        raise ValueError(
            f"`{name}` must contain only finite values; found {n_nan} NaN and {n_inf} infinite "
            f"entries in an array of shape {array.shape}."
        )
    return array


def check_array_2d(
    array: Any, name: str, *, dtype: type = np.float64, n_features: int | None = None
) -> np.ndarray:
    """Return ``array`` as a finite 2-D float array, or raise naming ``name``.

    Parameters
    ----------
    array : array-like of shape (n_samples, n_features)
    name : str
        The argument's name, used in error messages.
    dtype : numpy dtype, default=np.float64
    n_features : int, default=None
        If given, the required number of columns.
    """
    arr = np.asarray(array)
    if arr.dtype == object or not (
        np.issubdtype(arr.dtype, np.number) or np.issubdtype(arr.dtype, np.bool_)
    ):
        raise TypeError(f"`{name}` must be a numeric array; got dtype {arr.dtype}.")
    if np.iscomplexobj(arr):
        raise TypeError(f"`{name}` must be real-valued; got dtype {arr.dtype}.")
    if arr.ndim != 2:
        raise ValueError(f"`{name}` must be 2-D (n_samples, n_features); got shape {arr.shape}.")
    if n_features is not None and arr.shape[1] != n_features:
        raise ValueError(
            f"`{name}` has {arr.shape[1]} features but {n_features} were expected; got shape {arr.shape}."
        )
    arr = np.ascontiguousarray(arr, dtype=dtype)
    return check_finite(arr, name)


def check_positive_int(value: Any, name: str, *, minimum: int = 1, maximum: int | None = None) -> int:
    """Return ``value`` as an int in ``[minimum, maximum]`` or raise naming ``name``."""
    if isinstance(value, bool) or not isinstance(value, Integral):
        raise TypeError(f"`{name}` must be an integer; got {value!r} of type {type(value).__name__}.")
    if value < minimum or (maximum is not None and value > maximum):
        upper = "" if maximum is None else f" and <= {maximum}"
        raise ValueError(f"`{name}` must be >= {minimum}{upper}; got {value}.")
    return int(value)


def check_count(value: Any, name: str, *, minimum: int = 1) -> int:
    """``value`` as an int if it is an integer (not a bool) >= ``minimum``; else a one-line error naming ``name``."""
    if isinstance(value, bool) or not isinstance(value, Integral) or value < minimum:
        raise ValueError(f"`{name}` must be an integer >= {minimum}; got {value!r}.")
    return int(value)


def check_count_fields(settings: Any, names: Sequence[str], *, minimum: int = 1) -> None:
    """Raise naming the first of ``names`` whose value on ``settings`` (a config dataclass) is not an integer >= ``minimum``."""
    for name in names:
        check_count(getattr(settings, name), name, minimum=minimum)


def check_real(
    value: Any,
    name: str,
    *,
    low: float | None = None,
    high: float | None = None,
    low_open: bool = False,
    high_open: bool = False,
) -> float:
    """Return ``value`` as a float within the given bounds or raise naming ``name``."""
    if isinstance(value, bool) or not isinstance(value, Real) or not np.isfinite(value):
        raise TypeError(f"`{name}` must be a finite real number; got {value!r}.")
    value = float(value)
    too_low = low is not None and (value <= low if low_open else value < low)
    too_high = high is not None and (value >= high if high_open else value > high)
    if too_low or too_high:
        left = "(" if low_open else "["
        right = ")" if high_open else "]"
        lo = "-inf" if low is None else f"{low:g}"
        hi = "inf" if high is None else f"{high:g}"
        raise ValueError(f"`{name}` must lie in {left}{lo}, {hi}{right}; got {value:g}.")
    return value


def check_working_memory(working_memory: Any) -> float:
    """Return the working-memory budget in MiB (``None`` means scikit-learn's global setting)."""
    if working_memory is None:
        from sklearn import get_config

        return float(get_config()["working_memory"])
    return check_real(working_memory, "working_memory", low=0.0, low_open=True)


def validate_choice(value: Any, name: str, choices: tuple[str, ...]) -> str:
    """Return ``value`` when it is one of ``choices``, else raise naming ``name``."""
    if not isinstance(value, str) or value not in choices:
        raise ValueError(f"`{name}` must be one of {', '.join(map(repr, choices))}; got {value!r}.")
    return value
