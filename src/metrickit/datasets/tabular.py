"""Feature tables: scikit-learn's bundled sets and bring-your-own NPY / NPZ / CSV files."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from metrickit.exceptions import DatasetNotFoundError

__all__ = ["BUNDLED", "load_bundled", "load_features", "load_labels"]

BUNDLED = ("iris", "wine", "digits")


def load_bundled(name: str) -> tuple[np.ndarray, np.ndarray]:
    """``(X, y)`` of a dataset shipped with scikit-learn: 'iris', 'wine' or 'digits'."""
    from sklearn import datasets

    loaders = {"iris": datasets.load_iris, "wine": datasets.load_wine, "digits": datasets.load_digits}
    if name not in loaders:
        raise ValueError(f"Unknown bundled dataset {name!r}; choose one of {', '.join(BUNDLED)}.")
    X, y = loaders[name](return_X_y=True)
    return X.astype(np.float64), y


def _check_file(path: str | os.PathLike, what: str) -> Path:
    path = Path(path)
    if not path.is_file():
        raise DatasetNotFoundError(f"{what} file {path} does not exist.")
    return path


def _read_csv(path: Path) -> np.ndarray:
    """A numeric CSV; a first row that is not numeric is taken as a header and skipped."""
    with path.open() as fh:
        first = fh.readline()
    try:
        [float(v) for v in first.strip().split(",") if v.strip()]
        skip = 0
    except ValueError:
        skip = 1
    try:
        return np.loadtxt(path, delimiter=",", skiprows=skip, ndmin=2, dtype=np.float64)
    except ValueError as exc:
        raise ValueError(f"Could not read {path} as a numeric CSV: {exc}.") from None


def load_features(
    path: str | os.PathLike, *, label_column: int | None = None
) -> tuple[np.ndarray, np.ndarray | None]:
    """Features from ``.npy``, ``.npz`` (arrays ``X`` and optionally ``y``) or ``.csv``.

    With ``label_column`` (CSV only) that column is returned as the labels. Returns ``(X, y)``
    where ``y`` is ``None`` unless the file holds labels.
    """
    path = _check_file(path, "Features")
    suffix = path.suffix.lower()
    y = None
    if suffix == ".npy":
        X = np.load(path, allow_pickle=False)
    elif suffix == ".npz":
        with np.load(path, allow_pickle=False) as data:
            if "X" not in data:
                raise ValueError(f"{path} must contain an array named 'X' (and optionally 'y'); found {list(data)}.")
            X = data["X"]
            y = data["y"] if "y" in data else None
    elif suffix == ".csv":
        table = _read_csv(path)
        if label_column is not None:
            col = label_column % table.shape[1]
            y = table[:, col]
            y = y.astype(np.int64) if np.all(y == np.round(y)) else y
            X = np.delete(table, col, axis=1)
        else:
            X = table
    else:
        raise ValueError(f"Features file {path} must end in .npy, .npz or .csv; got {suffix!r}.")
    if X.ndim != 2:
        raise ValueError(f"Features in {path} must be 2-D (n_samples, n_features); got shape {X.shape}.")
    return _check_feature_values(X, path), y


def _check_feature_values(X: np.ndarray, path: Path) -> np.ndarray:
    """Refuse an empty, non-numeric or non-finite feature table, naming the file and the first bad entry."""
    if X.shape[0] == 0 or X.shape[1] == 0:
        raise ValueError(f"Features file {path} holds no features (shape {X.shape}); expected at least one row and one column.")
    if not (np.issubdtype(X.dtype, np.number) or np.issubdtype(X.dtype, np.bool_)) or np.iscomplexobj(X):
        raise ValueError(f"Features in {path} must be real numbers; got dtype {X.dtype}.")
    bad = ~np.isfinite(X)
    if bad.any():
        row, column = (int(i) for i in np.argwhere(bad)[0])
        raise ValueError(f"Features in {path} must be finite: row {row}, column {column} (counting from 0) is {X[row, column]} "
                         f"({int(bad.sum())} non-finite entries in all).")
    return X


def load_labels(path: str | os.PathLike) -> np.ndarray:
    """Labels from ``.npy`` or a one-column ``.csv`` / ``.txt`` (strings allowed)."""
    path = _check_file(path, "Labels")
    if path.suffix.lower() == ".npy":
        y = np.load(path, allow_pickle=False)
    else:
        lines = [line.strip() for line in path.read_text().splitlines() if line.strip()]
        try:
            y = np.array([int(v) for v in lines])
        except ValueError:
            y = np.array(lines[1:] if lines and lines[0].lower() in ("label", "labels", "y") else lines)
    if y.ndim != 1:
        raise ValueError(f"Labels in {path} must be 1-D; got shape {y.shape}.")
    return y
