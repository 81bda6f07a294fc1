"""Label bookkeeping shared by the samplers."""

from __future__ import annotations

import numpy as np

from metrickit._validation import check_count

__all__ = ["EpochSampler", "class_members"]


def class_members(labels, needed: int, role: str) -> tuple[np.ndarray, list[np.ndarray]]:
    """Classes and their member indices; raises naming the first class with fewer than ``needed`` members."""
    labels = np.asarray(labels)
    if labels.ndim != 1 or len(labels) == 0:
        raise ValueError(f"`labels` must be a non-empty 1-D array; got shape {labels.shape}.")
    classes, inverse, counts = np.unique(labels, return_inverse=True, return_counts=True)
    small = np.flatnonzero(counts < needed)
    if len(small):
        c = small[0]
        raise ValueError(
            f"class {classes[c].item()!r} has {counts[c]} sample(s) but {role} needs {needed} per class "
            f"({len(small)} class(es) are too small); drop those classes or lower the per-class count."
        )
    members = [np.flatnonzero(inverse == c) for c in range(len(classes))]
    return classes, members


class EpochSampler:
    """Base of the batch samplers: ``n_batches`` per epoch from a generator seeded by ``(seed, epoch)``."""

    def __init__(self, n_batches: int, seed: int, name: str = "n_batches"):
        self.n_batches = check_count(n_batches, name)
        self.seed = int(seed)
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        """Choose the epoch whose batches the next iteration yields (call it before each epoch)."""
        self.epoch = int(epoch)

    def __len__(self) -> int:
        return self.n_batches

    def generator(self) -> np.random.Generator:
        """This epoch's generator: the same (seed, epoch) always yields the same batches."""
        return np.random.default_rng([self.seed, self.epoch])
