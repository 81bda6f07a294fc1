"""On-line signature runs on disk: what ``metrickit verify train|eval|predict`` do with ``--dataset svc2004-online``.

``train`` fits the method per test fold on its 15 training writers, chooses the setting and calibrates the threshold
on its 5 validation writers, scores the test fold by SVC2004's protocol and writes ``fold<k>/model.safetensors``;
the final model (``final/``, what ``predict`` uses) learns from every writer but 5 seeded validation writers, which
choose its setting and set its threshold. ``eval`` re-scores fold models on their own test writers (refusing a model
that trained or validated on them). ``predict`` scores probe trajectories against enrolment trajectories.
"""

from __future__ import annotations

import csv
import os
import time
from typing import Any, Sequence

import numpy as np

from metrickit.signatures.evaluate import choose_on_validation, score_writers, summarise_folds, writer_layout
from metrickit.signatures.protocol import writers_in_order

__all__ = ["evaluate_signature_runs", "predict_signatures", "run_signature_training"]

DATASET = "svc2004-online"


def _train_part(data, method: str, training: list[str], validation: list[str], *, fold: int | str, test: list[str], seed: int,
                n_trials: int, window: int, embedder_epochs: int, threads: int | None):
    from metrickit.signatures.learners import signature_learners

    began = time.perf_counter()
    choice = choose_on_validation(signature_learners(method, window=window, seed=seed, embedder_epochs=embedder_epochs, threads=threads),
                                  data, training, validation, n_trials=n_trials, seed=seed)
    model = choice["method"]
    model.threshold = float(choice["threshold"])
    model.info.update({"dataset": DATASET, "method": method, "fold": fold, "training_writers": training, "validation_writers": validation,
                       "test_writers": test, "seed": seed, "chosen": choice["chosen"], "validation_eer_skilled": choice["validation_eer_skilled"]})
    record = {"fold": fold, "chosen": choice["chosen"], "validation_eer_skilled": choice["validation_eer_skilled"], "failed": choice["failed"],
              "threshold": model.threshold, "training_writers": training, "validation_writers": validation, "test_writers": test,
              "train_seconds": time.perf_counter() - began}
    if test:
        record.update(score_writers(data, test, model, model.threshold, n_trials=n_trials, seed=seed))
    return model, record


def run_signature_training(method: str, out_dir: str | os.PathLike, *, folds: Sequence[int] | None = None, final: bool = True,
                           data_dir: str | os.PathLike | None = None, seed: int = 0, n_trials: int = 10, window: int = 20,
                           embedder_epochs: int = 30, threads: int | None = None, overwrite: bool = False, quiet: bool = False) -> dict[str, Any]:
    """Train ``method`` ('dtw', 'dtw-lmnn', 'embedder') on SVC2004 Task 2's folds into ``out_dir``; see the module docstring."""
    from metrickit._progress import progress
    from metrickit._provenance import provenance
    from metrickit.datasets.trajectories import load_svc2004_online
    from metrickit.runs import FINAL, MODEL, RESULTS, prepare_run_dir, write_results

    out, _ = prepare_run_dir(out_dir, resume=False, overwrite=overwrite)
    data = load_svc2004_online(data_dir)
    users = writers_in_order(data.labels.tolist())
    layout = writer_layout(users)
    chosen = list(range(len(layout))) if folds is None else list(folds)
    bad = [k for k in chosen if not 0 <= k < len(layout)]
    if bad:
        raise ValueError(f"`folds` must lie in 0..{len(layout) - 1} for {DATASET}; got {bad}.")
    settings = dict(seed=seed, n_trials=n_trials, window=window, embedder_epochs=embedder_epochs, threads=threads)
    records = []
    for k in progress(chosen, quiet=quiet, desc=f"{method} on {DATASET}", unit="fold"):
        model, record = _train_part(data, method, layout[k]["training"], layout[k]["validation"], fold=k, test=layout[k]["test"], **settings)
        model.save(out / f"fold{k}" / MODEL, overwrite=True)
        records.append(record)
    results = {"dataset": DATASET, "method": method, "settings": settings, "repeat_part": "fold", "repeats": records,
               "summary": summarise_folds(records), "train_seconds": sum(r["train_seconds"] for r in records)}
    if final:
        validation = writers_in_order(np.random.default_rng(seed).choice(users, 5, replace=False).tolist())
        model, record = _train_part(data, method, [u for u in users if u not in validation], validation, fold="final", test=[], **settings)
        model.save(out / FINAL / MODEL, overwrite=True)
        results["final"] = record
    results["provenance"] = provenance()
    return write_results(out / RESULTS, "signature-training", results)


def evaluate_signature_runs(models: Sequence[str | os.PathLike], *, data_dir: str | os.PathLike | None = None, n_trials: int = 10,
                            seed: int = 0) -> dict[str, Any]:
    """Each fold model (files or ``verify train`` folders with fold<k>/) re-scored on its own test writers."""
    from metrickit.datasets.trajectories import load_svc2004_online
    from metrickit.runs import repeat_models, tagged
    from metrickit.signatures.model import load_signature_model

    data = load_svc2004_online(data_dir)
    folds = []
    for run in models:
        for path in repeat_models(run, "fold", "metrickit verify train --dataset svc2004-online"):
            model = load_signature_model(path)
            test = model.info.get("test_writers") or []
            seen = set(model.info.get("training_writers", [])) | set(model.info.get("validation_writers", []))
            if not test:
                raise ValueError(f"{path} has no test writers (a final model learned from every writer but its validation ones).")
            if seen & set(test):
                raise ValueError(f"{path} trained or validated on {sorted(seen & set(test))[:5]}, its own test writers; it cannot be scored on them.")
            folds.append({"model": str(path), "method": model.method, "fold": model.info.get("fold"), "test_writers": test,
                          **score_writers(data, test, model, model.threshold, n_trials=n_trials, seed=seed)})
    return tagged("signature-eval", {"dataset": DATASET, "folds": folds, "summary": summarise_folds(folds)})


def predict_signatures(model_path: str | os.PathLike, enrol: Sequence[str | os.PathLike], probes: Sequence[str | os.PathLike], *,
                       out: str | os.PathLike | None = None, overwrite: bool = False) -> dict[str, Any]:
    """Each probe trajectory scored against the enrolment trajectories: score, threshold, genuine or forgery."""
    from metrickit._io import atomic_path
    from metrickit.datasets.trajectories import read_trajectory
    from metrickit.signatures.model import load_signature_model

    model = load_signature_model(model_path)
    if model.threshold is None:
        raise ValueError(f"{model_path} stores no decision threshold; use a model from `metrickit verify train --dataset {DATASET}`.")
    scores = model.score([read_trajectory(p) for p in probes], [read_trajectory(r) for r in enrol])
    rows = [{"probe": str(p), "score": float(s), "threshold": model.threshold, "genuine": bool(s <= model.threshold)} for p, s in zip(probes, scores)]
    if out is not None:
        with atomic_path(out, overwrite=overwrite) as tmp, open(tmp, "w", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=["probe", "score", "threshold", "genuine"])
            writer.writeheader()
            writer.writerows(rows)
    return {"model": str(model_path), "method": model.method, "enrolled": [str(r) for r in enrol], "predictions": rows}
