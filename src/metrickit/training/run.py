"""A training run on disk: the model file, an exact-resume checkpoint, the run's JSON and its training curve."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any, Callable, Sequence

from metrickit._io import write_json_atomic
from metrickit.training.config import TrainConfig

__all__ = ["CHECKPOINT", "FINAL", "MODEL", "check_report_dir", "final_model", "prepare_run_dir", "repeat_models", "run_training",
           "train_repeats", "write_run"]

MODEL, CHECKPOINT, RESULTS, CURVE = "model.safetensors", "checkpoint.safetensors", "results.json", "training_curve.png"
FINAL = "final"  # the folder of a protocol's final model, trained after its folds or seeds


def prepare_run_dir(out_dir: str | os.PathLike, *, resume: bool, overwrite: bool) -> tuple[Path, Path]:
    """``(out, checkpoint)``: ``out`` must be new or empty unless ``overwrite``; ``resume`` needs its checkpoint."""
    out = Path(out_dir)
    checkpoint = out / CHECKPOINT
    if resume and not checkpoint.is_file():
        raise FileNotFoundError(f"cannot resume: {checkpoint} does not exist.")
    if not resume and out.exists() and any(out.iterdir()) and not overwrite:
        raise FileExistsError(f"{out} already exists and is not empty; pass --overwrite, --resume, or choose another --out.")
    return out, checkpoint


def train_repeats(
    out: Path,
    part: str,
    keys: Sequence[int],
    train: Callable[[int], tuple[Any, dict[str, Any]]],
    results: dict[str, Any],
    *,
    threads: int | None,
    desc: str,
    quiet: bool,
    final: Callable[[], tuple[Any, dict[str, Any]]] | None = None,
) -> dict[str, Any]:
    """Train one model per repeat of a protocol (``part`` 'fold' or 'seed', numbered by ``keys``) and write the run.

    ``train(k)`` gives ``(model, record)``; each repeat's model (and training curve, when its record has a history) goes to
    ``out/<part><k>/``. ``final()``, when given, trains the model to use after the repeats (on every identity but its own
    validation ones) into ``out/final/``; its record is ``results['final']``. ``results.json`` holds ``results`` with the
    repeats' records under ``<part>s``, their summed ``train_seconds`` and the provenance; it is returned.
    """
    from tqdm.auto import tqdm

    from metrickit._provenance import provenance

    records = [_save_trained(out / f"{part}{k}", *train(k)) for k in tqdm(list(keys), desc=desc, unit=part, disable=quiet)]
    results = {**results, f"{part}s": records, "train_seconds": sum(r["train_seconds"] for r in records)}
    if final is not None:
        results["final"] = _save_trained(out / FINAL, *final())
    results["provenance"] = provenance(threads)
    write_json_atomic(out / "results.json", results, overwrite=True)
    return results


def _save_trained(folder: Path, model, record: dict[str, Any]) -> dict[str, Any]:
    """Write a model (and its training curve, when the record has a history) into ``folder``; returns the record."""
    from metrickit.models.artifact import save_deep_model
    from metrickit.plotting import plot_training_curve

    save_deep_model(model, folder / MODEL, overwrite=True)
    if record.get("history"):
        plot_training_curve(record["history"], folder / CURVE, overwrite=True)
    return record


def final_model(path: str | os.PathLike) -> Path:
    """A model file as given, or the final model of a run folder (``path/final/model.safetensors``)."""
    path = Path(path)
    if path.is_dir():
        if not (path / FINAL / MODEL).is_file():
            raise FileNotFoundError(f"{path} holds no final model ({path / FINAL / MODEL}); give a model file, or train the run again "
                                    "without --no-final.")
        return path / FINAL / MODEL
    return path


def repeat_models(path: str | os.PathLike, part: str, command: str) -> list[Path]:
    """The model files of a run with one model per ``part`` ('fold', 'seed'): ``path/<part><k>/model.safetensors`` in
    order of ``k``, or ``[path]`` when ``path`` is one model file."""
    import re

    path = Path(path)
    if path.is_file():
        return [path]
    models = sorted(path.glob(f"{part}*/{MODEL}"), key=lambda p: int(re.sub(r"\D", "", p.parent.name) or 0))
    if not models:
        raise FileNotFoundError(f"{path} holds no {part} models (expected {path}/{part}<k>/{MODEL} from `{command}`).")
    return models


def check_report_dir(out_dir: str | os.PathLike | None, overwrite: bool) -> Path | None:
    """``out_dir`` as a Path (None stays None); it must be new or empty unless ``overwrite``."""
    if out_dir is None:
        return None
    out = Path(out_dir)
    if out.exists() and any(out.iterdir()) and not overwrite:
        raise FileExistsError(f"{out} already exists and is not empty; pass --overwrite or choose another --out.")
    return out


def write_run(out: Path, model, history: list[dict], results: dict[str, Any], threads: int | None) -> dict[str, Any]:
    """Write the model file, the training curve and ``results.json`` (with file list and provenance) into ``out``."""
    from metrickit._provenance import provenance
    from metrickit.models.artifact import save_deep_model
    from metrickit.plotting import plot_training_curve

    save_deep_model(model, out / MODEL, overwrite=True)
    plot_training_curve(history, out / CURVE, overwrite=True)
    results = {**results, "files": [MODEL, CHECKPOINT, RESULTS, CURVE], "provenance": provenance(threads)}
    write_json_atomic(out / RESULTS, results, overwrite=True)
    return results


def run_training(config: TrainConfig, out_dir: str | os.PathLike, *, resume: bool = False, overwrite: bool = False, quiet: bool = False) -> dict[str, Any]:
    """Train as ``config`` says, writing into ``out_dir``; ``resume`` continues from its checkpoint.

    ``out_dir`` must be new or empty unless ``overwrite`` (or ``resume``) is given.
    Returns the results also written to ``results.json``.
    """
    from metrickit.training.loop import train

    out, checkpoint = prepare_run_dir(out_dir, resume=resume, overwrite=overwrite)
    out.mkdir(parents=True, exist_ok=True)
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
    }
    return write_run(out, result.model, result.history, results, config.threads)
