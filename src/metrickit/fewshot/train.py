"""Episodic training of Prototypical Networks (Snell et al. 2017) with validation episodes and exact resume.

Each epoch draws ``episodes_per_epoch`` N-way K-shot Q-query episodes from the training classes
(seeded by (seed, epoch)); after it, the validation classes are embedded once (eval mode) and scored
on a fixed validation episode file; the best epoch's weights are kept. The learning rate halves every
``lr_halve_every`` episodes, as in the paper.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from metrickit.datasets.labeled import LabeledSet
from metrickit.fewshot.episodes import evaluate_episodes, make_episodes
from metrickit.fewshot.protonet import prototypical_loss
from metrickit.models.embedding import Conv4
from metrickit.samplers import EpisodeSampler, split_episode
from metrickit.training.checkpoint import finish_epoch, load_checkpoint, restore_training

__all__ = ["FewShotConfig", "FewShotResult", "train_protonet"]


@dataclass
class FewShotConfig:
    """Episode shapes, budget and optimiser of a Prototypical Networks run."""

    n_way: int = 60
    n_shot: int = 5
    n_query: int = 5
    episodes_per_epoch: int = 100
    epochs: int = 10
    learning_rate: float = 1e-3
    lr_halve_every: int = 2000
    hidden: int = 64
    val_n_way: int = 5
    val_n_shot: int = 1
    val_n_query: int = 15
    val_episodes: int = 200
    seed: int = 0
    threads: int | None = None

    def __post_init__(self) -> None:
        for name in ("n_way", "n_shot", "n_query", "episodes_per_epoch", "epochs", "lr_halve_every", "hidden",
                     "val_n_way", "val_n_shot", "val_n_query", "val_episodes"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"`{name}` must be an integer >= 1; got {value!r}.")
        if not self.learning_rate > 0:
            raise ValueError(f"`learning_rate` must be > 0; got {self.learning_rate!r}.")

    def as_dict(self) -> dict:
        return asdict(self)


@dataclass
class FewShotResult:
    model: Conv4
    history: list[dict[str, Any]]
    best_epoch: int


def train_protonet(
    config: FewShotConfig,
    train: LabeledSet,
    val: LabeledSet | None = None,
    *,
    checkpoint: str | Path | None = None,
    resume: bool = False,
    quiet: bool = False,
) -> FewShotResult:
    """Train a conv-4 embedder on episodes of ``train``; select the epoch by ``val`` episodes when given."""
    from tqdm.auto import tqdm

    if config.threads:
        torch.set_num_threads(int(config.threads))
    _, codes = np.unique(train.y, return_inverse=True)
    sampler = EpisodeSampler(codes, config.n_way, config.n_shot, config.n_query, config.episodes_per_epoch, seed=config.seed)
    val_file = None
    if val is not None:
        _, val_codes = np.unique(val.y, return_inverse=True)
        val_file = make_episodes(val_codes, config.val_n_way, config.val_n_shot, config.val_n_query, config.val_episodes, seed=config.seed)
    torch.manual_seed(config.seed)
    channels, *size = train.preprocessing.shape
    model = Conv4(channels, config.hidden, size)
    optimizer = torch.optim.Adam(model.parameters(), lr=config.learning_rate)
    scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=config.lr_halve_every, gamma=0.5)
    cut = split_episode(config.n_way, config.n_shot, config.n_query)
    support_labels, query_labels = torch.from_numpy(cut.support_labels), torch.from_numpy(cut.query_labels)
    no_objective = nn.Module()  # the loss has no parameters or generator of its own
    history: list[dict[str, Any]] = []
    best = {"epoch": -1, "score": -np.inf, "weights": None}
    start = restore_training(load_checkpoint(checkpoint), model, no_objective, optimizer, scheduler) if resume else None
    if start is not None:
        start, history, best = start
    X = torch.from_numpy(train.X)
    for epoch in range(start or 0, config.epochs):
        sampler.set_epoch(epoch)
        model.train()
        began, losses, accuracies = time.perf_counter(), [], []
        bar = tqdm(sampler, desc=f"epoch {epoch + 1}/{config.epochs}", unit="episode", disable=quiet, leave=False)
        for batch in bar:
            embeddings = model(X[batch])
            loss, accuracy = prototypical_loss(embeddings[cut.support], support_labels, embeddings[cut.query], query_labels, config.n_way)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            scheduler.step()
            losses.append(float(loss.detach()))
            accuracies.append(float(accuracy))
            bar.set_postfix(loss=f"{losses[-1]:.4f}", accuracy=f"{accuracies[-1]:.3f}")
        record = {"epoch": epoch + 1, "loss": float(np.mean(losses)), "train_accuracy": float(np.mean(accuracies)),
                  "seconds": time.perf_counter() - began}
        score = float(epoch)
        if val_file is not None:
            report = evaluate_episodes(model.embed(val.X), val_file)
            record.update(val_accuracy=report.accuracy, val_ci95=report.ci95)
            score = report.accuracy
        best = finish_epoch(epoch, record, score, history, best, model, no_objective, optimizer, scheduler, checkpoint)
    if best["weights"] is not None:
        model.load_state_dict(best["weights"])
    return FewShotResult(model.eval(), history, best["epoch"])
