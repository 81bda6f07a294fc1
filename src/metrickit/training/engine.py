"""The one training loop every deep method runs on.

A method is three parts plugged into :func:`fit`: a batch source (a sampler yielding lists of indices into the
inputs, with ``set_epoch``), an objective (an ``nn.Module`` mapping a batch's embeddings and class codes to the loss
and a progress figure; it may own parameters, such as a classifier head or proxies, which train in their own
parameter group at ``learning_rate_scale`` times the learning rate, and it may turn each batch into ``views``) and an
optional validator (scoring the model after each epoch). The loop seeds torch, builds the model and the objective, steps the optimiser and the
learning-rate schedule, validates, keeps the best epoch's weights and checkpoints every epoch for an exact resume.
Under torchrun it trains with DistributedDataParallel (:mod:`metrickit.distributed`): each rank embeds its part of
the global batch one process would draw, the objective sees the gathered global batch, BatchNorm statistics are
reduced over the ranks, and rank 0 writes the checkpoints, so N processes take the steps of one.
Metric learning on P x K batches, Prototypical Networks on episodes, the softmax baseline and the verification and
re-identification protocols all train here.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterable, Protocol

import numpy as np
import torch
from torch import nn

from metrickit import distributed
from metrickit._progress import progress
from metrickit.training.checkpoint import finish_epoch, load_checkpoint, restore_training
from metrickit.training.config import LoopConfig

__all__ = ["BatchSource", "FitResult", "Validator", "embed_global_batch", "fit", "parallel_model"]

Validator = Callable[[nn.Module], tuple[float, dict[str, Any]]]


class BatchSource(Protocol):
    """What the loop draws batches from: an iterable of index lists whose draws depend on the epoch only."""

    def set_epoch(self, epoch: int) -> None: ...

    def __iter__(self) -> Iterable[list[int]]: ...

    def __len__(self) -> int: ...


@dataclass
class FitResult:
    """The trained model (best epoch's weights, eval mode, on the CPU), the per-epoch history, the best epoch (1-based)
    and how the work was split: world size, backend and each rank's count of training inputs embedded."""

    model: nn.Module
    history: list[dict[str, Any]]
    best_epoch: int
    processes: dict[str, Any]


def fit(
    settings: LoopConfig,
    make_model: Callable[[], nn.Module],
    make_objective: Callable[[nn.Module], nn.Module],
    batches: BatchSource,
    inputs: torch.Tensor,
    codes: torch.Tensor,
    *,
    validate: Validator | None = None,
    checkpoint: str | Path | None = None,
    resume: bool = False,
    quiet: bool = False,
    unit: str = "batch",
) -> FitResult:
    """Train ``make_model()`` with ``make_objective(model)`` on ``batches`` of ``inputs`` (n, ...) and ``codes`` (n,).

    torch is seeded with ``settings.seed`` before the model and the objective are built, so their initial weights
    follow from the seed. ``validate(model)`` gives ``(score, metrics)`` after each epoch; the epoch with the highest
    score is kept (without a validator, the last). The objective's ``progress_name`` names its progress figure in the
    history. With ``checkpoint``, the state after every epoch is saved there, and ``resume`` continues from it exactly.
    """
    here = distributed.init_from_environment()
    device = _device(settings.device, here)
    torch.manual_seed(settings.seed)
    model = make_model().to(device)
    objective = make_objective(model).to(device)
    trainer = parallel_model(model, here, device, distributed.sync_batchnorm())
    optimizer = _optimizer(settings, [{"params": list(model.parameters())},
                                      {"params": list(objective.parameters()),
                                       "lr": settings.learning_rate * getattr(objective, "learning_rate_scale", 1.0)}])
    scheduler = _scheduler(settings, optimizer, settings.epochs * len(batches))
    history: list[dict[str, Any]] = []
    best: dict[str, Any] = {"epoch": -1, "score": -np.inf, "weights": None}
    start, seen, batch_size = 0, 0, 0
    if resume:
        start, history, best = restore_training(distributed.on_main(lambda: load_checkpoint(checkpoint)), model, objective, optimizer, scheduler)
    progress_name = getattr(objective, "progress_name", "active_fraction")
    views = getattr(objective, "views", None)
    for epoch in range(start, settings.epochs):
        batches.set_epoch(epoch)
        trainer.train()
        objective.train()
        began, losses, figures = time.perf_counter(), [], []
        bar = progress(batches, quiet=quiet or not here.is_main, desc=f"epoch {epoch + 1}/{settings.epochs}", unit=unit, leave=False)
        for batch in bar:
            embeddings, batch_codes, rows = embed_global_batch(trainer, inputs, codes, batch, here=here, augment=settings.augment,
                                                               views=views, device=device)
            seen, batch_size = seen + rows, len(batch)
            loss, figure = objective(embeddings, batch_codes)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            if scheduler is not None:
                scheduler.step()
            losses.append(float(loss.detach()))
            if figure is not None:
                figures.append(figure)
            bar.set_postfix(loss=f"{losses[-1]:.4f}", **({progress_name: f"{figure:.3f}"} if figure is not None else {}))
        record = {"epoch": epoch + 1, "loss": float(np.mean(losses)), progress_name: float(np.mean(figures)) if figures else None,
                  "seconds": time.perf_counter() - began}
        if validate is not None:
            with distributed.sharded_evaluation():
                score, metrics = validate(model)
            record.update(metrics)
        else:
            score = float(epoch)  # without validation the last epoch is kept
        best = finish_epoch(epoch, record, score, history, best, model, objective, optimizer, scheduler,
                            checkpoint if here.is_main else None)
    if best["weights"] is not None:
        model.load_state_dict(best["weights"])
    counts = distributed.gather_rows(torch.tensor([seen], dtype=torch.int64)).tolist()
    rows = [distributed.World(rank, here.size).shard(batch_size) for rank in range(here.size)] if batch_size else []
    processes = {**here.as_dict(), "samples_per_rank": counts, "batch_rows_per_rank": [[r.start, r.stop] for r in rows],
                 "sync_batchnorm": distributed.sync_batchnorm() if here.active else None}
    return FitResult(distributed.to_plain_batchnorm(model).cpu().eval(), history, best["epoch"], processes)


def embed_global_batch(trainer: nn.Module, inputs: torch.Tensor, codes: torch.Tensor, batch, *, here: distributed.World,
                       augment: str = "none", views=None, device: torch.device | str = "cpu") -> tuple[torch.Tensor, torch.Tensor, int]:
    """The embeddings and class codes of the global ``batch`` (indices into ``inputs``) as one process computes them,
    this rank's rows embedded by ``trainer`` and the rest gathered; also the count of inputs drawn here (images, not
    views).

    Random draws (flips, views) are made for the whole global batch from torch's generator and this rank keeps its
    rows, so N ranks draw what one process draws.
    """
    batch = torch.as_tensor(batch)
    own = here.shard(len(batch))
    batch_inputs, batch_codes = inputs[batch[own]], codes[batch]
    drawn = len(batch_inputs)
    if augment == "flip":  # torch's generator: seeded by the loop and saved in the checkpoint, so resume stays exact
        flip = (torch.rand(len(batch)) < 0.5)[own]
        batch_inputs[flip] = batch_inputs[flip].flip(-1)
    positions = None
    if views is not None:  # two augmented views of each image, labelled by the image (same generator)
        batch_inputs, _, positions = views.part(batch_inputs, own, len(batch))
        batch_codes = torch.arange(len(batch)).repeat(2)
    embeddings = distributed.gather_batch(trainer(batch_inputs.to(device)))
    if positions is not None and here.active:  # back to the single-process layout: rank r's views sit (r - rank) shards away
        part = len(batch) // here.size
        everyone = torch.cat([positions + (rank - here.rank) * part for rank in range(here.size)])
        embeddings = embeddings[torch.argsort(everyone).to(embeddings.device)]
    return embeddings, batch_codes.to(embeddings.device), drawn


def parallel_model(model: nn.Module, here: distributed.World, device: torch.device, sync_batchnorm: bool) -> nn.Module:
    """What the loop calls in training: the model itself for one process; else the model (with BatchNorm over the
    global batch, unless told not to) in DistributedDataParallel, which averages its gradients over the ranks."""
    if not here.active:
        return model
    from torch.nn.parallel import DistributedDataParallel

    if sync_batchnorm:
        distributed.to_distributed_batchnorm(model)
    return DistributedDataParallel(model, device_ids=[device.index] if device.type == "cuda" else None,
                                   forward_sync_buffers=not sync_batchnorm)  # reduced BatchNorm keeps the ranks' buffers equal


def _device(name: str, here: distributed.World) -> torch.device:
    """The device named (``auto``: CUDA when present); on several processes, CUDA means this rank's local GPU."""
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    if name == "cuda" and not torch.cuda.is_available():
        raise ValueError("`device` is 'cuda' but no CUDA device is available; use --device cpu or auto.")
    return torch.device("cuda", here.local_rank) if name == "cuda" and here.active else torch.device(name)


def _optimizer(settings: LoopConfig, parameters: list[dict[str, Any]]) -> torch.optim.Optimizer:
    """Adam or SGD over parameter groups (the model's; the objective's own, at its learning rate)."""
    if settings.optimizer == "adam":
        return torch.optim.Adam(parameters, lr=settings.learning_rate, weight_decay=settings.weight_decay)
    return torch.optim.SGD(parameters, lr=settings.learning_rate, momentum=0.9, weight_decay=settings.weight_decay)


def _scheduler(settings: LoopConfig, optimizer: torch.optim.Optimizer, total_steps: int):
    """Cosine annealing over every step, halving every ``lr_halve_every`` steps, or none."""
    if settings.scheduler == "cosine":
        return torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, total_steps)
    if settings.scheduler == "step":
        return torch.optim.lr_scheduler.StepLR(optimizer, step_size=settings.lr_halve_every, gamma=0.5)
    return None
