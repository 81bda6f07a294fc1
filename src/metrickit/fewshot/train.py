"""Few-shot training of a conv-4 embedder: Prototypical Networks (Snell et al. 2017) and two baselines on the same batches.

Each epoch draws ``episodes_per_epoch`` N-way K-shot Q-query episodes from the training classes
(seeded by (seed, epoch)). The ``method`` decides what is learned from each episode's images:

- ``protonet``: the prototypical loss, queries classified by a softmax over negative squared distances
  to the mean support embeddings.
- ``softmax``: a linear classifier over all training classes on top of the backbone, with cross-entropy;
  the classifier is thrown away and the backbone's features are the embedding.
- ``triplet``: the semi-hard (band) triplet loss on L2-normalised embeddings; the episode is then a
  class-balanced P x K batch with P = n_way and K = n_shot + n_query.

So every method sees the same images per step and costs about the same per step. After each epoch the
validation classes are embedded once (eval mode) and scored on a fixed validation episode file by
nearest prototype; the best epoch's weights are kept. The learning rate halves every ``lr_halve_every``
episodes, as in the paper.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from metrickit._validation import check_count_fields
from metrickit.datasets.labeled import LabeledSet
from metrickit.fewshot.episodes import evaluate_episodes, make_episodes
from metrickit.fewshot.protonet import prototypical_loss
from metrickit.losses import TripletMarginLoss
from metrickit.models.embedding import Conv4
from metrickit.samplers import EpisodeSampler, split_episode
from metrickit.training.config import LoopConfig
from metrickit.training.engine import fit

__all__ = ["METHODS", "FewShotConfig", "FewShotObjective", "FewShotResult", "train_fewshot"]

METHODS = ("protonet", "softmax", "triplet")


@dataclass
class FewShotConfig:
    """Method, episode shapes, budget and optimiser of a few-shot training run (``margin``: the triplet method's)."""

    method: str = "protonet"
    n_way: int = 60
    n_shot: int = 5
    n_query: int = 5
    episodes_per_epoch: int = 100
    epochs: int = 10
    learning_rate: float = 1e-3
    margin: float = 0.2
    lr_halve_every: int = 2000
    hidden: int = 64
    val_n_way: int = 5
    val_n_shot: int = 1
    val_n_query: int = 15
    val_episodes: int = 200
    seed: int = 0
    threads: int | None = None

    def __post_init__(self) -> None:
        if self.method not in METHODS:
            raise ValueError(f"`method` must be one of {', '.join(map(repr, METHODS))}; got {self.method!r}.")
        check_count_fields(self, ("n_way", "n_shot", "n_query", "episodes_per_epoch", "epochs", "lr_halve_every", "hidden",
                                  "val_n_way", "val_n_shot", "val_n_query", "val_episodes"))
        if not self.learning_rate > 0:
            raise ValueError(f"`learning_rate` must be > 0; got {self.learning_rate!r}.")
        if not self.margin >= 0:
            raise ValueError(f"`margin` must be >= 0; got {self.margin!r}.")

    def as_dict(self) -> dict:
        return asdict(self)

    def loop(self) -> LoopConfig:
        """The loop's part: Adam, the learning rate halved every ``lr_halve_every`` episodes (as in the paper), no augmentation."""
        return LoopConfig(self.epochs, "adam", self.learning_rate, 0.0, "step", self.lr_halve_every, self.seed)


class FewShotObjective(nn.Module):
    """The loss of one training episode's embeddings, by ``config.method`` (see the module docstring).

    ``forward(embeddings, codes)`` takes the episode's embeddings in :func:`split_episode` layout and the
    training-class codes of its images, and returns the loss with a progress figure: query accuracy
    (protonet), batch accuracy of the classifier (softmax) or the fraction of active triplets (triplet).
    """

    def __init__(self, config: FewShotConfig, embedding_dim: int, n_classes: int):
        super().__init__()
        self.method = config.method
        self.progress_name = "active_fraction" if config.method == "triplet" else "train_accuracy"
        self.n_way = config.n_way
        self.cut = split_episode(config.n_way, config.n_shot, config.n_query)
        self.head = nn.Linear(embedding_dim, n_classes) if config.method == "softmax" else None
        self.triplet = TripletMarginLoss(config.margin, triplets="semihard") if config.method == "triplet" else None

    def forward(self, embeddings: torch.Tensor, codes: torch.Tensor) -> tuple[torch.Tensor, float]:
        if self.head is not None:
            logits = self.head(embeddings)
            return F.cross_entropy(logits, codes), float((logits.argmax(1) == codes).float().mean())
        if self.triplet is not None:
            return self.triplet(embeddings, codes), self.triplet.active_fraction
        cut = self.cut
        loss, accuracy = prototypical_loss(embeddings[cut.support], torch.from_numpy(cut.support_labels),
                                           embeddings[cut.query], torch.from_numpy(cut.query_labels), self.n_way)
        return loss, float(accuracy)


@dataclass
class FewShotResult:
    model: Conv4
    history: list[dict[str, Any]]
    best_epoch: int


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
    if config.threads:
        torch.set_num_threads(int(config.threads))
    classes, codes = np.unique(train.y, return_inverse=True)
    sampler = EpisodeSampler(codes, config.n_way, config.n_shot, config.n_query, config.episodes_per_epoch, seed=config.seed)
    validate = None
    if val is not None:
        _, val_codes = np.unique(val.y, return_inverse=True)
        val_file = make_episodes(val_codes, config.val_n_way, config.val_n_shot, config.val_n_query, config.val_episodes, seed=config.seed)

        def validate(model: Conv4) -> tuple[float, dict[str, Any]]:
            began = time.perf_counter()
            report = evaluate_episodes(model.embed(val.X), val_file)
            return report.accuracy, {"val_accuracy": report.accuracy, "val_ci95": report.ci95, "val_seconds": time.perf_counter() - began}

    channels, *size = train.preprocessing.shape
    fitted = fit(config.loop(), lambda: Conv4(channels, config.hidden, size, normalize=config.method == "triplet"),
                 lambda model: FewShotObjective(config, model.embedding_dim, len(classes)), sampler, torch.from_numpy(train.X),
                 torch.from_numpy(codes), validate=validate, checkpoint=checkpoint, resume=resume, quiet=quiet, unit="episode")
    return FewShotResult(fitted.model, fitted.history, fitted.best_epoch)
