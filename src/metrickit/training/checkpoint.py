"""Training checkpoints without pickles: every tensor in safetensors, everything else as JSON in its header.

A checkpoint holds the model, optimiser and scheduler state, the torch RNG state, the epoch to
resume at, the history and the best weights so far, so a resumed run equals the uninterrupted one.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import torch

from metrickit._safetensors import read_safetensors, write_safetensors

__all__ = ["CHECKPOINT_FORMAT", "finish_epoch", "load_checkpoint", "restore_training", "save_checkpoint", "training_state"]

CHECKPOINT_FORMAT = "metrickit.checkpoint/1"


def _split(tree: Any, prefix: str, tensors: dict[str, torch.Tensor]) -> Any:
    """Replace every tensor in a nested dict/list by a reference, collecting the tensors under unique names."""
    if isinstance(tree, torch.Tensor):
        tensors[prefix] = tree.detach().cpu().contiguous().clone()
        return {"__tensor__": prefix}
    if isinstance(tree, dict):
        return {"__dict__": [[_key(k), _split(v, f"{prefix}.{k}", tensors)] for k, v in tree.items()]}
    if isinstance(tree, (list, tuple)):
        return [_split(v, f"{prefix}.{i}", tensors) for i, v in enumerate(tree)]
    return tree


def _key(key: Any) -> Any:
    if isinstance(key, (str, int, float, bool)) or key is None:
        return key
    raise TypeError(f"cannot store a checkpoint key of type {type(key).__name__}")


def _join(tree: Any, tensors: dict[str, torch.Tensor]) -> Any:
    if isinstance(tree, dict) and "__tensor__" in tree:
        return tensors[tree["__tensor__"]]
    if isinstance(tree, dict) and "__dict__" in tree:
        return {k: _join(v, tensors) for k, v in tree["__dict__"]}
    if isinstance(tree, list):
        return [_join(v, tensors) for v in tree]
    return tree


def save_checkpoint(state: dict[str, Any], path: str | os.PathLike) -> Path:
    """Write ``state`` (nested dicts/lists of tensors, numbers, strings) to ``path`` atomically, replacing it."""
    tensors: dict[str, torch.Tensor] = {}
    skeleton = _split(state, "s", tensors)
    return write_safetensors(path, tensors, {"format": CHECKPOINT_FORMAT, "state": json.dumps(skeleton)}, overwrite=True)


def load_checkpoint(path: str | os.PathLike) -> dict[str, Any]:
    """The state saved by :func:`save_checkpoint`; a missing, corrupt or foreign file raises naming it."""
    metadata, tensors = read_safetensors(path, "checkpoint")
    try:
        if metadata.get("format") != CHECKPOINT_FORMAT:
            raise ValueError(f"not a {CHECKPOINT_FORMAT} file")
        return _join(json.loads(metadata["state"]), tensors)
    except (ValueError, KeyError) as error:
        raise ValueError(f"{path} is not a readable metrickit checkpoint: {error}") from None


def training_state(epoch, history, best, model, objective, optimizer, scheduler) -> dict[str, Any]:
    """Everything an exact resume needs at an epoch boundary (``objective`` may hold a seeded random miner)."""
    miner = getattr(objective, "miner", None)
    return {
        "epoch": epoch,
        "history": history,
        "best": {"epoch": best["epoch"], "score": float(best["score"]), "weights": best["weights"]},
        "model": model.state_dict(),
        "objective": objective.state_dict(),
        "optimizer": optimizer.state_dict(),
        "scheduler": scheduler.state_dict() if scheduler is not None else None,
        "torch_rng": torch.get_rng_state(),
        "miner_rng": miner.generator.get_state() if hasattr(miner, "generator") else None,
    }


def restore_training(state, model, objective, optimizer, scheduler) -> tuple[int, list, dict]:
    """Load :func:`training_state` back; returns ``(epoch to start at, history, best)``."""
    model.load_state_dict(state["model"])
    objective.load_state_dict(state["objective"])
    optimizer.load_state_dict(state["optimizer"])
    if scheduler is not None and state["scheduler"] is not None:
        scheduler.load_state_dict(state["scheduler"])
    torch.set_rng_state(state["torch_rng"])
    miner = getattr(objective, "miner", None)
    if hasattr(miner, "generator") and state["miner_rng"] is not None:
        miner.generator.set_state(state["miner_rng"])
    best = dict(state["best"])
    return int(state["epoch"]), list(state["history"]), best


def finish_epoch(epoch, record, score, history, best, model, objective, optimizer, scheduler, checkpoint) -> dict[str, Any]:
    """Append ``record``, keep the weights if ``score`` is the best so far, checkpoint (if a path is given); returns ``best``."""
    import copy

    history.append(record)
    if score > best["score"]:
        best = {"epoch": epoch + 1, "score": score, "weights": copy.deepcopy(model.state_dict())}
    if checkpoint is not None:
        save_checkpoint(training_state(epoch + 1, history, best, model, objective, optimizer, scheduler), checkpoint)
    return best
