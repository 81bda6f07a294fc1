"""Few-shot training of a conv-4 embedder: Prototypical Networks (Snell et al. 2017) and baselines on the same batches.

Each epoch draws ``episodes_per_epoch`` N-way K-shot Q-query episodes from the training classes
(seeded by (seed, epoch)). The ``method`` (the objective's loss) decides what is learned from each episode's images:

- ``protonet``: the prototypical loss, queries classified by a softmax over negative squared distances
  to the mean support embeddings.
- ``softmax`` (and the other losses with a class head: ArcFace, CosFace, ...): a classifier over all training
  classes on top of the backbone; the head is thrown away and the backbone's features are the embedding.
- ``triplet`` (and the other pair and triplet losses): the loss on L2-normalised embeddings, the episode being a
  class-balanced P x K batch with P = n_way and K = n_shot + n_query; triplets semi-hard by default.

So every method sees the same images per step and costs about the same per step. After each epoch the
validation classes are embedded once (eval mode) and scored on a fixed validation episode file by
nearest prototype; the best epoch's weights are kept. The learning rate halves every ``lr_halve_every``
episodes, as in the paper.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from metrickit.datasets.labeled import LabeledSet
from metrickit.fewshot.episodes import evaluate_episodes, make_episodes
from metrickit.fewshot.config import FewShotConfig
from metrickit.models.embedding import EmbeddingNet
from metrickit.samplers import EpisodeSampler, split_episode
from metrickit.training.engine import fit
from metrickit.training.loop import build_model
from metrickit.training.objective import Objective

__all__ = ["FewShotResult", "train_fewshot"]


@dataclass
class FewShotResult:
    model: EmbeddingNet
    history: list[dict[str, Any]]
    best_epoch: int
    processes: dict[str, Any]  # world size, backend, each rank's count of training images (FitResult.processes)


def train_fewshot(
    config: FewShotConfig,
    train: LabeledSet,
    val: LabeledSet | None = None,
    *,
    checkpoint: str | Path | None = None,
    resume: bool = False,
    quiet: bool = False,
) -> FewShotResult:
    """Train a conv-4 embedder on episodes of ``train`` with ``config.method``; select the epoch by ``val`` episodes when given."""
    classes, codes = np.unique(train.labels, return_inverse=True)
    episodes, checks, seed = config.episodes, config.validation, config.loop.seed
    sampler = EpisodeSampler(codes, episodes.n_way, episodes.n_shot, episodes.n_query, config.loop.batches_per_epoch, seed=seed)
    validate = None
    if val is not None:
        _, val_codes = np.unique(val.labels, return_inverse=True)
        val_file = make_episodes(val_codes, checks.val_n_way, checks.val_n_shot, checks.val_n_query, checks.val_episodes, seed=seed)

        def validate(model: EmbeddingNet) -> tuple[float, dict[str, Any]]:
            began = time.perf_counter()
            report = evaluate_episodes(model.embed(val.X), val_file)
            return report.accuracy, {"val_accuracy": report.accuracy, "val_ci95": report.ci95, "val_seconds": time.perf_counter() - began}

    episode = split_episode(episodes.n_way, episodes.n_shot, episodes.n_query) if config.objective.loss == "protonet" else None
    fitted = fit(config.loop, lambda: build_model(config.embedder, config.objective.loss, train.preprocessing.shape),
                 lambda model: Objective(config.objective, model.embedding_dim, len(classes), seed, input_shape=train.preprocessing.shape,
                                         episode=episode), sampler, torch.from_numpy(train.X),
                 torch.from_numpy(codes), validate=validate, checkpoint=checkpoint, resume=resume, quiet=quiet, unit="episode")
    return FewShotResult(fitted.model, fitted.history, fitted.best_epoch, fitted.processes)
