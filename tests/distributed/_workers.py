"""What each rank runs in the distributed tests (importable, so spawned processes can find it); one process runs the
same functions to give the reference."""

from __future__ import annotations

from typing import Any

import torch

from metrickit import distributed
from metrickit.samplers import ClassBalancedBatchSampler, EpisodeSampler, split_episode
from metrickit.training import load_config
from metrickit.training.engine import embed_global_batch, fit, parallel_model
from metrickit.training.config import ObjectiveConfig
from metrickit.training.loop import build_model
from metrickit.training.objective import Objective

N_CLASSES, PER_CLASS = 6, 6
SHAPES = {"mlp": (12,), "conv4": (1, 16, 16)}

# every loss and miner the loop trains with: (loss, miner, xbm); NT-Xent needs images
CASES = [("triplet", "all", 0), ("triplet", "semihard", 0), ("triplet", "hard", 0), ("triplet", "semihard-facenet", 0),
         ("triplet", "random", 0), ("contrastive", "all", 0), ("contrastive", "multi-similarity", 0), ("contrastive", "all", 24),
         ("multi-similarity", None, 0), ("multi-similarity", None, 24), ("supcon", None, 0), ("arcface", None, 0),
         ("cosface", None, 0), ("subcenter-arcface", None, 0), ("proxy-anchor", None, 0), ("softmax", None, 0),
         ("protonet", None, 0), ("ntxent", None, 0)]


def config(loss: str, miner: str | None, xbm: int, architecture: str, *, epochs: int = 5, augment: str = "none"):
    """A small SGD run on 4 classes x 4 samples per batch (episodes of 4-way 2-shot 2-query for Prototypical Networks,
    whose objective the caller builds from ``ObjectiveConfig('protonet')``)."""
    losses = {} if loss == "protonet" else {"loss": loss, "miner": miner, "xbm": xbm}
    return load_config(dataset="digits", architecture=architecture, embedding_dim=8, hidden=[16], width=8, **losses, optimizer="sgd", learning_rate=0.05, scheduler="none", epochs=epochs, batches_per_epoch=1,
                       n_classes_per_batch=4, n_per_class=4, seed=3, augment=augment)


def data(architecture: str) -> tuple[torch.Tensor, torch.Tensor]:
    """Seeded inputs (float64) around one centre per class, and their class codes."""
    generator = torch.Generator().manual_seed(0)
    shape = SHAPES[architecture]
    codes = torch.arange(N_CLASSES).repeat_interleave(PER_CLASS)
    centres = torch.randn((N_CLASSES, *shape), generator=generator, dtype=torch.float64)
    return centres[codes] + 0.5 * torch.randn((len(codes), *shape), generator=generator, dtype=torch.float64), codes


def _parts(case: tuple, architecture: str, **overrides):
    loss = case[0]
    settings = config(*case, architecture, **overrides)
    shape = SHAPES[architecture]
    episode = split_episode(4, 2, 2) if loss == "protonet" else None
    if loss == "protonet":
        sampler = EpisodeSampler(data(architecture)[1].numpy(), 4, 2, 2, settings.loop.batches_per_epoch, seed=settings.loop.seed)
    else:
        sampler = ClassBalancedBatchSampler(data(architecture)[1].numpy(), 4, 4, n_batches=settings.loop.batches_per_epoch,
                                            seed=settings.loop.seed)

    def make_model():
        return build_model(settings.embedder, loss, shape).double()

    def make_objective(model):
        return Objective(ObjectiveConfig("protonet") if episode else settings.objective, model.embedding_dim, N_CLASSES, settings.loop.seed, input_shape=shape,
                         episode=episode).double()

    return settings, make_model, make_objective, sampler


def gradients(architecture: str) -> dict[tuple, dict[str, Any]]:
    """For every case: the loss of a second global batch (after a first one filled any memory, without gradients) and
    the gradients of the model's and the objective's parameters, as DDP leaves them (averaged over ranks)."""
    here = distributed.world()
    inputs, codes = data(architecture)
    results = {}
    for case in CASES:
        if case[0] == "ntxent" and architecture != "conv4":
            continue
        settings, make_model, make_objective, sampler = _parts(case, architecture, epochs=2)
        torch.manual_seed(0)
        model = make_model()
        objective = make_objective(model)
        trainer = parallel_model(model, here, torch.device("cpu"), True)
        augment = "flip" if architecture == "conv4" else "none"
        trainer.train()
        for epoch in (0, 1):
            sampler.set_epoch(epoch)
            batch = next(iter(sampler))
            with torch.set_grad_enabled(epoch == 1):
                embeddings, batch_codes, _ = embed_global_batch(trainer, inputs, codes, batch, here=here, augment=augment,
                                                                views=objective.views)
                loss, _ = objective(embeddings, batch_codes)
        loss.backward()
        results[case] = {"loss": float(loss.detach()), "model": {n: p.grad.clone() for n, p in model.named_parameters()},
                         "objective": {n: p.grad.clone() for n, p in objective.named_parameters() if p.grad is not None},
                         "buffers": {n: b.clone() for n, b in model.named_buffers()}}
    return results


def trained(architecture: str, cases: list[tuple], epochs: int = 5) -> dict[tuple, dict[str, Any]]:
    """For each case: the per-step losses and the parameters (model and objective) after ``epochs`` SGD steps of
    :func:`fit`, and the objective's state (its cross-batch memory included)."""
    inputs, codes = data(architecture)
    results = {}
    for case in cases:
        if case[0] == "ntxent" and architecture != "conv4":
            continue
        settings, make_model, make_objective, sampler = _parts(case, architecture, epochs=epochs)
        captured = {}

        def keep(model):
            captured["objective"] = make_objective(model)
            return captured["objective"]

        result = fit(settings.loop, make_model, keep, sampler, inputs, codes, quiet=True)
        results[case] = {"losses": [h["loss"] for h in result.history], "model": result.model.state_dict(),
                         "objective": {n: t.clone() for n, t in captured["objective"].state_dict().items()},
                         "processes": result.processes}
    return results


def resumed(architecture: str, case: tuple, folder: str) -> dict[str, Any]:
    """A 4-step run straight, and the same run stopped after 2 steps and resumed from its checkpoint."""
    inputs, codes = data(architecture)
    runs = {}
    for name, plan in {"straight": [(4, False)], "resumed": [(2, False), (4, True)]}.items():
        for epochs, resume in plan:
            settings, make_model, make_objective, sampler = _parts(case, architecture, epochs=epochs)
            captured = {}

            def keep(model):
                captured["objective"] = make_objective(model)
                return captured["objective"]

            result = fit(settings.loop, make_model, keep, sampler, inputs, codes, quiet=True,
                         checkpoint=f"{folder}/{name}.safetensors", resume=resume)
        runs[name] = {"losses": [h["loss"] for h in result.history], "model": result.model.state_dict(),
                      "objective": {n: t.clone() for n, t in captured["objective"].state_dict().items()}}
    return runs


def batchnorm(dims: int) -> dict[str, Any]:
    """A DistributedBatchNorm (converted from nn.BatchNorm{dims}d) on this rank's half of a fixed batch: its output
    rows, input gradient, affine gradients (summed over ranks here, as DDP's average times 2) and running statistics."""
    from torch import nn

    here = distributed.world()
    generator = torch.Generator().manual_seed(1)
    shape = (8, 3) if dims == 1 else (8, 3, 4, 5)
    x = torch.randn(shape, generator=generator, dtype=torch.float64) * 2 + 1
    weights = torch.randn(shape, generator=generator, dtype=torch.float64)
    layer = nn.BatchNorm1d(3) if dims == 1 else nn.BatchNorm2d(3)
    with torch.no_grad():
        layer.weight.uniform_(0.5, 1.5, generator=generator)
        layer.bias.uniform_(-0.5, 0.5, generator=generator)
    initial = {n: t.clone() for n, t in layer.double().state_dict().items()}
    norm = distributed.to_distributed_batchnorm(nn.Sequential(layer))
    own = here.shard(len(x))
    part = x[own].clone().requires_grad_(True)
    y = norm(part)
    (y * weights[own]).sum().backward()
    affine = distributed.all_sum(torch.cat([norm[0].weight.grad, norm[0].bias.grad]))
    plain = distributed.to_plain_batchnorm(norm)
    return {"y": y.detach(), "dx": part.grad, "affine": affine, "running_mean": norm[0].running_mean.clone(),
            "running_var": norm[0].running_var.clone(), "plain": type(plain[0]).__name__, "x": x, "weights": weights, "initial": initial}


def rows(lengths: list[int]) -> torch.Tensor:
    """This rank's rows (as many as ``lengths[rank]``, each holding the rank) gathered in rank order."""
    here = distributed.world()
    return distributed.gather_rows(torch.full((lengths[here.rank], 2), float(here.rank)))


def main_only_failure() -> str:
    """on_main raising on rank 0: every rank must raise the same error."""
    def check() -> None:
        raise ValueError("output folder runs/x is not empty")
    try:
        distributed.on_main(check)
    except ValueError as error:
        return str(error)
    return "no error"
