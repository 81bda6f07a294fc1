"""A training run on disk: the model file, an exact-resume checkpoint, the run's JSON and its training curve."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

from metrickit._io import write_json_atomic
from metrickit.training.config import TrainConfig

__all__ = ["CHECKPOINT", "MODEL", "run_training"]

MODEL, CHECKPOINT, RESULTS, CURVE = "model.safetensors", "checkpoint.safetensors", "results.json", "training_curve.png"


def run_training(config: TrainConfig, out_dir: str | os.PathLike, *, resume: bool = False, overwrite: bool = False, quiet: bool = False) -> dict[str, Any]:
    """Train as ``config`` says, writing into ``out_dir``; ``resume`` continues from its checkpoint.

    ``out_dir`` must be new or empty unless ``overwrite`` (or ``resume``) is given.
    Returns the results also written to ``results.json``.
    """
    from metrickit._provenance import provenance
    from metrickit.models.artifact import save_deep_model
    from metrickit.plotting import plot_training_curve
    from metrickit.training.loop import train

    out = Path(out_dir)
    checkpoint = out / CHECKPOINT
    if resume and not checkpoint.is_file():
        raise FileNotFoundError(f"cannot resume: {checkpoint} does not exist.")
    if not resume and out.exists() and any(out.iterdir()) and not overwrite:
        raise FileExistsError(f"{out} already exists and is not empty; pass --overwrite, --resume, or choose another --out.")
    out.mkdir(parents=True, exist_ok=True)
    began = time.perf_counter()
    result = train(config, checkpoint=checkpoint, resume=resume, quiet=quiet)
    seconds = time.perf_counter() - began
    save_deep_model(result.model, out / MODEL, overwrite=True)
    plot_training_curve(result.history, out / CURVE, overwrite=True)
    results = {
        "config": config.as_dict(),
        "classes": {"fit": result.split.fit_classes, "validation": result.split.val_classes, "test": result.split.test_classes},
        "best_epoch": result.best_epoch,
        "history": result.history,
        "test": result.test.as_dict(),
        "train_seconds": seconds,
        "files": [MODEL, CHECKPOINT, RESULTS, CURVE],
        "provenance": provenance(config.threads),
    }
    write_json_atomic(out / RESULTS, results, overwrite=True)
    return results
