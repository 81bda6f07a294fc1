"""N-way K-shot Q-query episodes for few-shot learning (Vinyals et al. 2016; Snell et al. 2017)."""

from __future__ import annotations

from typing import Iterator, NamedTuple

import numpy as np

from metrickit._validation import check_count
from metrickit.samplers._checks import EpochSampler, class_members

__all__ = ["Episode", "EpisodeSampler", "split_episode"]


class Episode(NamedTuple):
    """Positions within one episode's batch: ``support`` (n_way * n_shot,) and ``query`` (n_way * n_query,),
    with episode labels 0..n_way-1 in ``support_labels`` and ``query_labels``."""

    support: np.ndarray
    query: np.ndarray
    support_labels: np.ndarray
    query_labels: np.ndarray


def split_episode(n_way: int, n_shot: int, n_query: int) -> Episode:
    """How to cut a batch from :class:`EpisodeSampler`: supports first (class-major), then queries (class-major)."""
    n_support = n_way * n_shot
    return Episode(
        np.arange(n_support),
        np.arange(n_support, n_support + n_way * n_query),
        np.repeat(np.arange(n_way), n_shot),
        np.repeat(np.arange(n_way), n_query),
    )


class EpisodeSampler(EpochSampler):
    """Episodes of ``n_way`` classes with ``n_shot`` support and ``n_query`` query samples each.

    Yields lists of dataset indices laid out as :func:`split_episode` describes; pass it as
    ``batch_sampler=``. Episode ``e`` of epoch ``k`` is drawn from a generator seeded by
    ``(seed, k)``, so an episode file can be regenerated exactly; :meth:`set_epoch` selects ``k``.

    Parameters
    ----------
    labels : array-like of shape (n_samples,)
    n_way, n_shot, n_query : int
    n_episodes : int
        Episodes per epoch (``len(sampler)``, also ``n_batches``).
    seed : int, default=0
    """

    def __init__(self, labels, n_way: int, n_shot: int, n_query: int, n_episodes: int, *, seed: int = 0):
        self.n_way = check_count(n_way, "n_way")
        self.n_shot = check_count(n_shot, "n_shot")
        self.n_query = check_count(n_query, "n_query", minimum=0)
        super().__init__(n_episodes, seed, name="n_episodes")
        needed = self.n_shot + self.n_query
        self.classes, self._members = class_members(labels, needed, f"n_shot + n_query = {needed}")
        if len(self.classes) < self.n_way:
            raise ValueError(f"`n_way` ({self.n_way}) is more than the {len(self.classes)} classes in `labels`.")

    def __iter__(self) -> Iterator[list[int]]:
        rng = self.generator()
        for _ in range(self.n_batches):
            chosen = rng.choice(len(self.classes), size=self.n_way, replace=False)
            drawn = np.stack([rng.choice(self._members[c], size=self.n_shot + self.n_query, replace=False) for c in chosen])
            yield np.concatenate([drawn[:, : self.n_shot].ravel(), drawn[:, self.n_shot :].ravel()]).tolist()
