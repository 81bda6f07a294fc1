"""Run folders and result files on disk, without torch: their layout, the one check of an output folder, the models of
a protocol's repeats (folds, seeds) and its final model, and tagged result files. ``metrickit report``, ``lmnn`` and
``--help`` use this, never torch.

Every ``results.json`` (and every benchmark JSON) carries ``kind`` (what wrote it, one of :data:`KINDS`) and
``schema_version``; a protocol's repeats are always listed under ``repeats``. Readers dispatch on the kind.
"""

from __future__ import annotations

import os
import re
import time
from pathlib import Path
from typing import Any, Callable

__all__ = ["CHECKPOINT", "CURVE", "FINAL", "KINDS", "MODEL", "RESULTS", "SCHEMA_VERSION", "cached_json", "check_out_dir", "final_model",
           "prepare_run_dir", "repeat_models", "tagged", "timestamp", "write_results"]

MODEL, CHECKPOINT, RESULTS, CURVE = "model.safetensors", "checkpoint.safetensors", "results.json", "training_curve.png"
FINAL = "final"  # the folder of a protocol's final model, trained after its folds or seeds
SCHEMA_VERSION = 1
KINDS = (
    # benchmark JSONs (bench/results)
    "lmnn", "lmnn-mnist-select", "deep-quality", "loss-comparison", "deep-demo-select", "deep-speed", "ddp-scaling", "fewshot-shapes", "fewshot-omniglot",
    "verify-benchmark", "verify-nested-benchmark", "reid-benchmark", "index-search", "signature-online", "signature-training", "signature-eval",
    "lfw-view1", "lfw-benchmark", "lfw-training", "lfw-eval",
    # the results.json of metrickit commands
    "demo", "lmnn-fit", "lmnn-evaluate", "training-run", "retrieval-eval", "fewshot-training", "fewshot-eval", "oneshot-eval",
    "verify-training", "verify-eval", "verify-predict", "reid-training", "reid-eval",
)


def tagged(kind: str, results: dict[str, Any]) -> dict[str, Any]:
    """``results`` with its ``kind`` and ``schema_version`` first."""
    if kind not in KINDS:
        raise ValueError(f"`kind` must be one of {', '.join(map(repr, KINDS))}; got {kind!r}.")
    return {"kind": kind, "schema_version": SCHEMA_VERSION, **{k: v for k, v in results.items() if k not in ("kind", "schema_version")}}


def write_results(path: str | os.PathLike, kind: str, results: dict[str, Any]) -> dict[str, Any]:
    """Write ``results`` tagged with ``kind`` as JSON at ``path`` (atomically, replacing it); returns what was written.
    On several processes only rank 0 writes."""
    from metrickit._io import write_json_atomic
    from metrickit.distributed.context import world

    record = tagged(kind, results)
    if world().is_main:
        write_json_atomic(path, record, overwrite=True)
    return record


def cached_json(path: str | os.PathLike | None, compute: Callable[[], dict[str, Any]], *,
                matching: dict[str, Any] | None = None) -> dict[str, Any]:
    """The record an earlier run wrote at ``path``, if it holds ``matching``'s values (the config and split it ran with),
    else ``compute()``'s, written there atomically: an interrupted benchmark resumes, a changed setting runs again.
    Without a path the record is computed and not stored."""
    import json

    from metrickit._io import write_json_atomic

    if path is None:
        return compute()
    path = Path(path)
    if path.is_file():
        record = json.loads(path.read_text())
        if all(record.get(key) == value for key, value in (matching or {}).items()):
            return record
    record = compute()
    path.parent.mkdir(parents=True, exist_ok=True)
    write_json_atomic(path, record, overwrite=True)
    return record


def timestamp() -> str:
    """A sortable local timestamp for default output folders."""
    return time.strftime("%Y%m%d-%H%M%S")


def check_out_dir(out_dir: str | os.PathLike | None, overwrite: bool) -> Path | None:
    """``out_dir`` as a Path (None stays None); it must be new or empty unless ``overwrite``."""
    if out_dir is None:
        return None
    out = Path(out_dir)
    if out.exists() and any(out.iterdir()) and not overwrite:
        raise FileExistsError(f"{out} already exists and is not empty; pass --overwrite or choose another --out.")
    return out


def prepare_run_dir(out_dir: str | os.PathLike, *, resume: bool, overwrite: bool) -> tuple[Path, Path]:
    """``(out, checkpoint)``: ``out`` must be new or empty unless ``overwrite``; ``resume`` needs its checkpoint. On
    several processes rank 0 checks (the folder it writes) and every rank gets its answer."""
    from metrickit.distributed.context import on_main

    return on_main(lambda: _check_run_dir(Path(out_dir), resume, overwrite))


def _check_run_dir(out: Path, resume: bool, overwrite: bool) -> tuple[Path, Path]:
    checkpoint = out / CHECKPOINT
    if resume and not checkpoint.is_file():
        raise FileNotFoundError(f"cannot resume: {checkpoint} does not exist.")
    if not resume and out.exists() and any(out.iterdir()) and not overwrite:
        raise FileExistsError(f"{out} already exists and is not empty; pass --overwrite, --resume, or choose another --out.")
    return out, checkpoint


def repeat_models(path: str | os.PathLike, part: str, command: str) -> list[Path]:
    """The model files of a run with one model per ``part`` ('fold', 'seed'): ``path/<part><k>/model.safetensors`` in
    order of ``k``, or ``[path]`` when ``path`` is one model file."""
    path = Path(path)
    if path.is_file():
        return [path]
    models = sorted(path.glob(f"{part}*/{MODEL}"), key=lambda p: int(re.sub(r"\D", "", p.parent.name) or 0))
    if not models:
        raise FileNotFoundError(f"{path} holds no {part} models (expected {path}/{part}<k>/{MODEL} from `{command}`).")
    return models


def final_model(path: str | os.PathLike) -> Path:
    """A model file as given, or the final model of a run folder (``path/final/model.safetensors``)."""
    path = Path(path)
    if path.is_dir():
        if not (path / FINAL / MODEL).is_file():
            raise FileNotFoundError(f"{path} holds no final model ({path / FINAL / MODEL}); give a model file, or train the run again "
                                    "without --no-final.")
        return path / FINAL / MODEL
    return path
