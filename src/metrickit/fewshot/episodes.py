"""Fixed, seeded test episodes shared by every method, and episodic evaluation on cached embeddings.

An episode file lists, for each of ``n_episodes`` episodes, the support and query sample indices
(n_way classes x n_shot / n_query each). Every method is scored on the same file, so their accuracies
are paired; the file's sha256 goes into every result. Embeddings are computed once per method and the
episodes only index them, so thousands of episodes take seconds.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from metrickit.samplers import EpisodeSampler, split_episode

__all__ = ["EpisodeFile", "FewShotReport", "evaluate_episodes", "make_episodes"]


@dataclass(frozen=True)
class EpisodeFile:
    """Support (n_episodes, n_way * n_shot) and query (n_episodes, n_way * n_query) indices, class-major."""

    support: np.ndarray
    query: np.ndarray
    n_way: int
    n_shot: int
    n_query: int
    seed: int

    def sha256(self) -> str:
        digest = hashlib.sha256()
        for array in (self.support, self.query, np.array([self.n_way, self.n_shot, self.n_query, self.seed])):
            digest.update(np.ascontiguousarray(array, dtype=np.int64).tobytes())
        return digest.hexdigest()

    def save(self, path: str | os.PathLike, *, overwrite: bool = False) -> Path:
        from metrickit._io import atomic_path

        with atomic_path(path, overwrite=overwrite) as tmp:
            with open(tmp, "wb") as fh:
                np.savez(fh, support=self.support, query=self.query, shape=np.array([self.n_way, self.n_shot, self.n_query, self.seed]))
        return Path(path)

    @classmethod
    def load(cls, path: str | os.PathLike) -> "EpisodeFile":
        try:
            with np.load(path, allow_pickle=False) as data:
                n_way, n_shot, n_query, seed = (int(v) for v in data["shape"])
                return cls(data["support"], data["query"], n_way, n_shot, n_query, seed)
        except (OSError, KeyError, ValueError) as error:
            raise ValueError(f"{path} is not a readable episode file: {error}") from None


def make_episodes(labels: np.ndarray, n_way: int, n_shot: int, n_query: int, n_episodes: int, seed: int = 0) -> EpisodeFile:
    """``n_episodes`` seeded episodes over ``labels`` (the same seed always gives the same file)."""
    sampler = EpisodeSampler(labels, n_way, n_shot, n_query, n_episodes, seed=seed)
    cut = split_episode(n_way, n_shot, n_query)
    batches = np.array(list(sampler), dtype=np.int64)  # (n_episodes, n_way * (n_shot + n_query))
    return EpisodeFile(batches[:, cut.support], batches[:, cut.query], n_way, n_shot, n_query, seed)


@dataclass(frozen=True)
class FewShotReport:
    """Mean accuracy over episodes with its 95% confidence interval (1.96 standard errors)."""

    n_way: int
    n_shot: int
    n_query: int
    n_episodes: int
    accuracy: float
    ci95: float
    episode_sha256: str

    def as_dict(self) -> dict:
        return asdict(self)


def evaluate_episodes(embeddings: np.ndarray, episodes: EpisodeFile, batch: int = 200) -> FewShotReport:
    """Nearest-prototype accuracy (squared Euclidean, mean support embedding) of every episode, vectorised in batches of episodes."""
    cut = split_episode(episodes.n_way, episodes.n_shot, episodes.n_query)
    accuracies = []
    for start in range(0, len(episodes.support), batch):
        support = embeddings[episodes.support[start : start + batch]]  # (e, n_way * n_shot, d)
        query = embeddings[episodes.query[start : start + batch]]  # (e, n_way * n_query, d)
        e, _, d = support.shape
        protos = support.reshape(e, episodes.n_way, episodes.n_shot, d).mean(2)  # class-major layout
        d2 = (query * query).sum(-1)[:, :, None] + (protos * protos).sum(-1)[:, None, :] - 2 * query @ protos.transpose(0, 2, 1)
        accuracies.append((d2.argmin(-1) == cut.query_labels[None, :]).mean(1))
    acc = np.concatenate(accuracies)
    return FewShotReport(episodes.n_way, episodes.n_shot, episodes.n_query, len(acc), float(acc.mean()),
                         float(1.96 * acc.std(ddof=1) / np.sqrt(len(acc))) if len(acc) > 1 else float("nan"), episodes.sha256())
