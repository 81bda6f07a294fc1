"""Verification runs on disk (what ``metrickit verify train|eval`` do).

``train`` writes one folder per fold (``fold<k>/model.safetensors``, plus ``training_curve.png`` for deep
methods), the final model trained on every identity but its validation ones (``final/``), and a ``results.json``
with each fold's identities, validation scores, threshold and time.
``eval`` scores the fold models of one or more runs on their test identities and writes ``results.json``,
``roc.png`` (the ROC averaged over folds, per method) and ``distances.png`` (genuine vs impostor distance
histograms, in units of each fold's threshold).
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any, Mapping, Sequence

from metrickit.verification.train import VerifyConfig

__all__ = ["evaluate_verify_runs", "run_verify_training"]

def run_verify_training(
    dataset: str,
    config: VerifyConfig,
    out_dir: str | os.PathLike,
    *,
    folds: Sequence[int] | None = None,
    final: bool = True,
    data_dir: str | os.PathLike | None = None,
    overwrite: bool = False,
    quiet: bool = False,
) -> dict[str, Any]:
    """Train ``config.method`` on each cross-identity fold of ``dataset`` ('orl' or 'svc2004') into ``out_dir``.

    With ``final``, the model to use afterwards (``final/model.safetensors``, what ``verify predict`` takes) is then
    trained the same way on every identity but 5 seeded validation identities, which choose its epoch (or PCA size)
    and set its threshold; the folds, whose test identities it has seen, estimate how it does on new people.
    """
    from metrickit.datasets.identities import load_identities
    from metrickit.runs import prepare_run_dir
    from metrickit.training.run import train_repeats
    from metrickit.verification.folds import FOLDS, final_fold, make_folds
    from metrickit.verification.train import train_fold

    out, _ = prepare_run_dir(out_dir, resume=False, overwrite=overwrite)
    began = time.perf_counter()
    data = load_identities(dataset, data_dir)
    load_seconds = time.perf_counter() - began
    all_folds = make_folds(data.labels, *FOLDS[dataset], seed=config.loop.seed)
    chosen = list(range(len(all_folds))) if folds is None else list(folds)
    bad = [k for k in chosen if not 0 <= k < len(all_folds)]
    if bad:
        raise ValueError(f"`folds` must lie in 0..{len(all_folds) - 1} for {dataset}; got {bad}.")
    last = final_fold(data.labels, FOLDS[dataset][1], seed=config.loop.seed) if final else None
    return train_repeats(out, "verify-training", "fold", chosen, lambda k: train_fold(data, all_folds[k], config, quiet=quiet),
                         {"dataset": dataset, "config": config.as_dict(), "load_seconds": load_seconds},
                         desc=f"{config.method} on {dataset}", quiet=quiet,
                         final=(lambda: train_fold(data, last, config, quiet=quiet)) if last else None)


def evaluate_verify_runs(
    runs: Mapping[str, str | os.PathLike],
    *,
    data_dir: str | os.PathLike | None = None,
    out_dir: str | os.PathLike | None = None,
    overwrite: bool = False,
) -> dict[str, Any]:
    """Scores of each run (name -> ``verify train`` folder or model file) on its folds' test identities, with the
    mean and sd over folds; with ``out_dir``, ``results.json``, ``roc.png`` and ``distances.png`` are written there."""
    from metrickit.datasets.identities import load_identities
    from metrickit.models.base import load_model
    from metrickit.runs import check_out_dir, repeat_models, tagged
    from metrickit.verification.evaluate import evaluate_fold, summarize

    if not runs:
        raise ValueError("`runs` is empty: give at least one `verify train` folder or model file.")
    out = check_out_dir(out_dir, overwrite)
    loaded = {name: [(path, load_model(path)) for path in repeat_models(run, "fold", "metrickit verify train")] for name, run in runs.items()}
    datasets = {model.info.get("dataset") for models in loaded.values() for _, model in models}
    if len(datasets) != 1 or None in datasets:
        raise ValueError(f"the models must all come from `metrickit verify train` on one dataset; they name {sorted(map(str, datasets))}.")
    dataset = datasets.pop()
    data = load_identities(dataset, data_dir)
    methods, distances, projections = {}, {}, {}
    for name, models in loaded.items():
        folds = [{**evaluate_fold(model, data), "model": str(path), "method": model.info.get("method")} for path, model in models]
        distances[name] = [(f["distances"], f["threshold"]) for f in folds]
        projections[name] = (folds[0]["embeddings"], folds[0]["labels"])
        methods[name] = {"method": folds[0]["method"], "summary": summarize(folds),
                         "repeats": [{k: v for k, v in f.items() if k not in ("distances", "embeddings", "labels")} for f in folds]}
    results = tagged("verify-eval", {"dataset": dataset, "methods": methods})
    if out is not None:
        _write_report(out, results, distances, projections)
    return results


def _write_report(out: Path, results: dict[str, Any], distances: dict[str, list], projections: dict[str, tuple]) -> None:
    from metrickit._provenance import provenance
    from metrickit.evaluation.verification import roc_curve
    from metrickit.runs import RESULTS, write_results
    from metrickit.plotting import plot_distance_histograms, plot_embedding_projections, plot_roc_curves

    out.mkdir(parents=True, exist_ok=True)
    title = f"{results['dataset']}: test identities unseen in training"
    curves = {name: [roc_curve(d["genuine"], d["impostor"])[:2] for d, _ in folds] for name, folds in distances.items()}
    plot_roc_curves(curves, out / "roc.png", title=title, overwrite=True)
    scaled = {name: ([g / t for d, t in folds for g in d["genuine"]], [i / t for d, t in folds for i in d["impostor"]])
              for name, folds in distances.items()}
    plot_distance_histograms(scaled, out / "distances.png", title=title, overwrite=True)
    labels = {tuple(map(str, labels)) for _, labels in projections.values()}
    if len(labels) == 1:  # the methods' first folds hold the same test images
        plot_embedding_projections({name: Z for name, (Z, _) in projections.items()}, next(iter(projections.values()))[1],
                                   out / "projection.png", overwrite=True)
    results["files"] = ["results.json", "roc.png", "distances.png", *(["projection.png"] if (out / "projection.png").is_file() else [])]
    results["provenance"] = provenance()
    write_results(out / RESULTS, "verify-eval", results)
