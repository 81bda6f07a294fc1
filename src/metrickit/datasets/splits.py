"""One entry point for labelled feature data with a train/test split, used by the CLI and benchmarks."""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np

from metrickit.datasets.mnist import load_mnist
from metrickit.datasets.tabular import BUNDLED, load_bundled, load_features, load_labels

__all__ = ["DataSplit", "load_split", "stratified_subsample"]


@dataclass(frozen=True)
class DataSplit:
    """Training and test parts (the test part may be empty) and how they were made."""

    X_train: np.ndarray
    y_train: np.ndarray
    X_test: np.ndarray | None
    y_test: np.ndarray | None
    info: dict


def stratified_subsample(y: np.ndarray, n: int, seed: int) -> np.ndarray:
    """Indices of a stratified random subsample of size ``n`` (sorted)."""
    from sklearn.model_selection import train_test_split

    if not 1 <= n <= len(y):
        raise ValueError(f"`n_train` ({n}) must be between 1 and the number of training samples ({len(y)}).")
    if n == len(y):
        return np.arange(len(y))
    idx, _ = train_test_split(np.arange(len(y)), train_size=n, stratify=y, random_state=seed)
    return np.sort(idx)


def load_split(
    *,
    data: str | None = None,
    features: str | os.PathLike | None = None,
    labels: str | os.PathLike | None = None,
    label_column: int | None = None,
    data_dir: str | os.PathLike | None = None,
    test_size: float = 0.3,
    n_train: int | None = None,
    seed: int = 0,
) -> DataSplit:
    """Load a bundled dataset, MNIST (official split, pixels scaled to [0, 1]) or your own files, and split it.

    ``test_size`` is the stratified held-out fraction (0 keeps everything for training); MNIST uses
    its official 10,000-image test set. ``n_train`` keeps a stratified subsample of the training part.
    """
    from sklearn.model_selection import train_test_split

    if (data is None) == (features is None):
        raise ValueError("Pass exactly one data source: --data NAME or --features PATH.")
    if not 0.0 <= test_size < 1.0:
        raise ValueError(f"`test_size` must lie in [0, 1); got {test_size}.")
    info: dict = {"seed": seed}
    if data == "mnist":
        X_train, y_train = load_mnist("train", data_dir=data_dir)
        X_test, y_test = load_mnist("test", data_dir=data_dir)
        X_train, X_test = X_train / 255.0, X_test / 255.0
        info.update(dataset="mnist", split="official 60k/10k", pixel_scale="1/255")
    else:
        if data is not None:
            if data not in BUNDLED:
                raise ValueError(f"`data` must be one of {', '.join(BUNDLED + ('mnist',))}; got {data!r}.")
            X, y = load_bundled(data)
            info["dataset"] = data
        else:
            X, y = load_features(features, label_column=label_column)
            if labels is not None:
                y = load_labels(labels)
            if y is None:
                raise ValueError("No labels: pass --labels PATH, --label-column I (CSV), or an .npz holding 'y'.")
            if len(y) != len(X):
                raise ValueError(f"`labels` has {len(y)} entries but `features` has {len(X)} rows.")
            info["dataset"] = str(features)
        if test_size > 0:
            X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=test_size, stratify=y, random_state=seed)
            info["split"] = f"stratified {1 - test_size:.0%}/{test_size:.0%}"
        else:
            X_train, y_train, X_test, y_test = X, y, None, None
            info["split"] = "none (all data used for fitting)"
    if n_train is not None:
        keep = stratified_subsample(y_train, n_train, seed)
        X_train, y_train = X_train[keep], y_train[keep]
        info["n_train_subsample"] = n_train
    return DataSplit(X_train, y_train, X_test, y_test, info)
