"""Class-balanced P x K batches: P classes, K samples of each (Hermans et al. 2017)."""

from __future__ import annotations

from typing import Iterator

import numpy as np

from metrickit._validation import check_count
from metrickit.samplers._checks import EpochSampler, class_members

__all__ = ["ClassBalancedBatchSampler"]


class ClassBalancedBatchSampler(EpochSampler):
    """Batches of ``n_classes`` classes x ``n_per_class`` samples, as lists of dataset indices.

    Pass it as ``batch_sampler=`` to a ``torch.utils.data.DataLoader``. Each epoch draws from its own
    generator, seeded by ``(seed, epoch)``, so a run is reproducible and resumable: call
    :meth:`set_epoch` before iterating. Classes are drawn without replacement within a batch and
    samples without replacement within a class, except that with ``replace=True`` a class with fewer
    than ``K`` samples gives all of them and the rest drawn again (torchreid's identity sampler does the
    same; re-identification identities often have only a few images).

    Parameters
    ----------
    labels : array-like of shape (n_samples,)
    n_classes : int
        ``P``, classes per batch.
    n_per_class : int
        ``K``, samples per class; every class needs at least this many.
    n_batches : int, default=None
        Batches per epoch; ``None`` means ``n_samples // (P * K)``.
    seed : int, default=0
    replace : bool, default=False
        Let classes with fewer than ``K`` samples fill their ``K`` places by drawing again.
    """

    def __init__(self, labels, n_classes: int, n_per_class: int, *, n_batches: int | None = None, seed: int = 0, replace: bool = False):
        self.n_classes = check_count(n_classes, "n_classes")
        self.n_per_class = check_count(n_per_class, "n_per_class")
        self.replace = bool(replace)
        self.classes, self._members = class_members(labels, 1 if self.replace else self.n_per_class, f"n_per_class={self.n_per_class}")
        if len(self.classes) < self.n_classes:
            raise ValueError(f"`n_classes` ({self.n_classes}) is more than the {len(self.classes)} classes in `labels`.")
        default = len(np.asarray(labels)) // (self.n_classes * self.n_per_class)
        super().__init__(default if n_batches is None else n_batches, seed)

    @property
    def batch_size(self) -> int:
        return self.n_classes * self.n_per_class

    def __iter__(self) -> Iterator[list[int]]:
        rng = self.generator()
        for _ in range(self.n_batches):
            chosen = rng.choice(len(self.classes), size=self.n_classes, replace=False)
            batch = [self._draw(rng, self._members[c]) for c in chosen]
            yield np.concatenate(batch).tolist()

    def _draw(self, rng: np.random.Generator, members: np.ndarray) -> np.ndarray:
        if len(members) >= self.n_per_class:
            return rng.choice(members, size=self.n_per_class, replace=False)
        return np.concatenate([rng.permutation(members), rng.choice(members, size=self.n_per_class - len(members), replace=True)])
