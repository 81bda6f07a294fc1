"""MNIST from the four original IDX files (gzip), read in place."""

from __future__ import annotations

import gzip
import os
from pathlib import Path

import numpy as np

from metrickit.datasets.paths import dataset_dir
from metrickit.exceptions import DatasetNotFoundError

__all__ = ["load_mnist", "read_idx"]

_FILES = {
    "train": ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"),
    "test": ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"),
}


def read_idx(path: Path, expected_magic: int) -> np.ndarray:
    """Parse one gzip IDX file (big-endian uint8 payload); raise naming the file when it is malformed."""
    if not path.is_file():
        raise DatasetNotFoundError(f"MNIST file {path} is missing.")
    try:
        with gzip.open(path, "rb") as fh:
            raw = fh.read()
    except (OSError, EOFError) as exc:
        raise ValueError(f"MNIST file {path} is not a readable gzip file: {exc}.") from None
    if len(raw) < 8:
        raise ValueError(f"MNIST file {path} is truncated: {len(raw)} bytes.")
    magic = int.from_bytes(raw[:4], "big")
    if magic != expected_magic:
        raise ValueError(f"MNIST file {path} has IDX magic number {magic}; expected {expected_magic}.")
    ndim = raw[3]
    dims = [int.from_bytes(raw[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim)]
    offset = 4 + 4 * ndim
    expected = int(np.prod(dims))
    if len(raw) - offset != expected:
        raise ValueError(
            f"MNIST file {path} holds {len(raw) - offset} data bytes; its header {dims} promises {expected}."
        )
    return np.frombuffer(raw, dtype=np.uint8, offset=offset).reshape(dims)


def load_mnist(
    split: str = "train", *, data_dir: str | os.PathLike | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Images as uint8 (n_samples, 784) and labels (n_samples,) of the ``'train'`` (60,000) or ``'test'`` (10,000) split."""
    if split not in _FILES:
        raise ValueError(f"`split` must be 'train' or 'test'; got {split!r}.")
    folder = dataset_dir("mnist", data_dir)
    images_file, labels_file = _FILES[split]
    images = read_idx(folder / images_file, 2051)
    labels = read_idx(folder / labels_file, 2049)
    if len(images) != len(labels):
        raise ValueError(f"MNIST {split}: {len(images)} images but {len(labels)} labels in {folder}.")
    return images.reshape(len(images), -1), labels.astype(np.int64)
