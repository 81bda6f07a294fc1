"""A training run on disk: the model file, an exact-resume checkpoint, the run's JSON and its training curve."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any, Callable, Sequence

from metrickit._progress import progress
from metrickit.runs import CHECKPOINT, CURVE, FINAL, MODEL, RESULTS, prepare_run_dir, write_results
from metrickit.training.config import TrainConfig

__all__ = ["run_training", "train_repeats", "write_run"]


def train_repeats(
    out: Path,
    kind: str,
    part: str,
    keys: Sequence[int],
    train: Callable[[int], tuple[Any, dict[str, Any]]],
    results: dict[str, Any],
    *,
    desc: str,
    quiet: bool,
    final: Callable[[], tuple[Any, dict[str, Any]]] | None = None,
) -> dict[str, Any]:
    """Train one model per repeat of a protocol (``part`` 'fold' or 'seed', numbered by ``keys``) and write the run, a
    ``kind`` result.

    ``train(k)`` gives ``(model, record)``; each repeat's model (and training curve, when its record has a history) goes to
    ``out/<part><k>/``. ``final()``, when given, trains the model to use after the repeats (on every identity but its own
    validation ones) into ``out/final/``; its record is ``results['final']``. ``results.json`` holds ``results`` with the
    repeats' records under ``repeats``, their summed ``train_seconds`` and the provenance; it is returned.
    """
    from metrickit._provenance import provenance

    records = [_save_trained(out / f"{part}{k}", *train(k)) for k in progress(list(keys), quiet=quiet, desc=desc, unit=part)]
    results = {**results, "repeat_part": part, "repeats": records, "train_seconds": sum(r["train_seconds"] for r in records)}
    if final is not None:
        results["final"] = _save_trained(out / FINAL, *final())
    results["provenance"] = provenance()
    return write_results(out / RESULTS, kind, results)


def _save_trained(folder: Path, model, record: dict[str, Any]) -> dict[str, Any]:
    """Write a model (and its training curve, when the record has a history) into ``folder`` (rank 0 only, on several
    processes); returns the record."""
    from metrickit.distributed.context import world
    from metrickit.models.artifact import save_deep_model
    from metrickit.plotting import plot_training_curve

    if not world().is_main:
        return record
    save_deep_model(model, folder / MODEL, overwrite=True)
    if record.get("history"):
        plot_training_curve(record["history"], folder / CURVE, overwrite=True)
    return record


def write_run(out: Path, kind: str, model, history: list[dict], results: dict[str, Any]) -> dict[str, Any]:
    """Write the model file, the training curve and ``results.json`` (a ``kind`` result, with file list and provenance)
    into ``out`` (rank 0 only, on several processes; every rank gets the results)."""
    from metrickit._provenance import provenance
    from metrickit.distributed.context import world
    from metrickit.models.artifact import save_deep_model
    from metrickit.plotting import plot_training_curve

    if world().is_main:
        save_deep_model(model, out / MODEL, overwrite=True)
        plot_training_curve(history, out / CURVE, overwrite=True)
    return write_results(out / RESULTS, kind, {**results, "files": [MODEL, CHECKPOINT, RESULTS, CURVE], "provenance": provenance()})


def run_training(config: TrainConfig, out_dir: str | os.PathLike, *, resume: bool = False, overwrite: bool = False, quiet: bool = False) -> dict[str, Any]:
    """Train as ``config`` says, writing into ``out_dir``; ``resume`` continues from its checkpoint.

    ``out_dir`` must be new or empty unless ``overwrite`` (or ``resume``) is given.
    Returns the results also written to ``results.json``.
    """
    from metrickit.training.loop import train

    out, checkpoint = prepare_run_dir(out_dir, resume=resume, overwrite=overwrite)
    began = time.perf_counter()
    result = train(config, checkpoint=checkpoint, resume=resume, quiet=quiet)
    seconds = time.perf_counter() - began
    results = {
        "config": config.as_dict(),
        "classes": {"fit": result.split.fit_classes, "validation": result.split.val_classes, "test": result.split.test_classes},
        "best_epoch": result.best_epoch,
        "history": result.history,
        "test": result.test.as_dict(),
        "train_seconds": seconds,
        "processes": result.processes,
    }
    return write_run(out, "training-run", result.model, result.history, results)
