"""LFW runs on disk (``metrickit verify train|eval --dataset lfw``).

``train`` writes ``view1/model.safetensors`` (``view=1``: development) or one folder per View 2 fold
(``fold1`` ... ``fold10``: LFW's own numbering) and the final model (``final/``), with ``results.json``.
``eval`` scores the models of one or more runs on the pairs they may be scored on (View 1: ``pairsDevTest``; a View 2
fold model: its test fold) and writes ``results.json`` (the 10-fold table per method) and ``roc.png`` (the mean ROC).
"""

from __future__ import annotations

import os
import time
from dataclasses import replace
from pathlib import Path
from typing import Any, Mapping, Sequence

from metrickit.lfw.config import CLASSIC_METHODS, LfwConfig

__all__ = ["evaluate_lfw_runs", "run_lfw_training"]


def run_lfw_training(config: LfwConfig, out_dir: str | os.PathLike, *, view: int = 2, folds: Sequence[int] | None = None,
                     final: bool = True, data_dir: str | os.PathLike | None = None, overwrite: bool = False,
                     quiet: bool = False) -> dict[str, Any]:
    """Train ``config`` on View 1 (``view=1``: development, watched on ``pairsDevTest`` every epoch) or on the View 2
    folds ``folds`` (1-10; default all) and, with ``final``, the final model, into ``out_dir``."""
    from metrickit.datasets.lfw import lfw_preprocessing, load_lfw, load_pair_list
    from metrickit.lfw.protocol import final_experiment, view1_experiment, view2_experiments
    from metrickit.lfw.train import train_experiment
    from metrickit.runs import prepare_run_dir
    from metrickit.training.run import train_repeats

    if view not in (1, 2):
        raise ValueError(f"`view` must be 1 (development) or 2 (the 10-fold report); got {view!r}.")
    out, _ = prepare_run_dir(out_dir, resume=False, overwrite=overwrite)
    began = time.perf_counter()
    data = load_lfw(lfw_preprocessing(config.crop, config.size), data_dir, quiet=quiet)
    meta = {"dataset": "lfw", "view": view, "config": config.as_dict(), "load_seconds": time.perf_counter() - began}
    desc = f"{config.method} ({config.setting}) on LFW View {view}"
    if view == 1:
        experiment = view1_experiment(load_pair_list("dev-train", data, data_dir), load_pair_list("dev-test", data, data_dir))
        deep = config.method not in CLASSIC_METHODS
        return train_repeats(out, "lfw-training", "view", [1],
                             lambda _: train_experiment(data, experiment, config, monitor=experiment.test if deep else None, quiet=quiet),
                             meta, desc=desc, quiet=quiet)
    pairs = load_pair_list("view2", data, data_dir)
    experiments = view2_experiments(pairs)
    chosen = list(range(1, 11)) if folds is None else [int(k) for k in folds]
    bad = [k for k in chosen if not 1 <= k <= 10]
    if bad:
        raise ValueError(f"`folds` are LFW's View 2 folds 1-10; got {bad}.")
    return train_repeats(out, "lfw-training", "fold", chosen, lambda k: train_experiment(data, experiments[k - 1], config, quiet=quiet),
                         meta, desc=desc, quiet=quiet,
                         final=(lambda: train_experiment(data, final_experiment(pairs), config, quiet=quiet)) if final else None)


def evaluate_lfw_runs(runs: Mapping[str, str | os.PathLike], *, data_dir: str | os.PathLike | None = None,
                      out_dir: str | os.PathLike | None = None, overwrite: bool = False) -> dict[str, Any]:
    """Each run's models scored on the pairs they may be scored on; per method the View 2 table (mean accuracy ± SE,
    AUC, EER, TAR at FAR 1% pooled) or the View 1 scores; with ``out_dir``, ``results.json`` and ``roc.png``."""
    from metrickit.datasets.lfw import load_lfw, load_pair_list
    from metrickit.lfw.evaluate import fold_roc, score_pairs, summarize_folds
    from metrickit.models.base import load_model
    from metrickit.runs import RESULTS, check_out_dir, repeat_models, tagged, write_results

    if not runs:
        raise ValueError("`runs` is empty: give at least one `verify train --dataset lfw` folder or model file.")
    out = check_out_dir(out_dir, overwrite)
    methods, curves, views = {}, {}, set()
    loaded: dict = {}  # a decoding (crop, size) -> its images and pair lists: one load per crop, not per model
    for name, run in runs.items():
        if run is None:
            raise ValueError("LFW evaluation scores `verify train --dataset lfw` runs; for pixels train one with --method euclidean.")
        path = Path(run)
        files = [path] if path.is_file() else (repeat_models(path, "fold", "metrickit verify train --dataset lfw") if list(path.glob("fold*"))
                                               else repeat_models(path, "view", "metrickit verify train --dataset lfw --view 1"))
        folds = []
        for file in files:
            model = load_model(file)
            record = model.info.get("experiment") or {}
            view = record.get("view")
            if view is None:
                raise ValueError(f"{file} was not trained by the LFW protocol (`metrickit verify train --dataset lfw`).")
            crop = replace(model.preprocessing, mean=0.0, std=1.0)
            if crop not in loaded:  # a model's standardisation is its own, applied when it embeds; decoding needs only the crop
                data = load_lfw(model.preprocessing, data_dir)
                loaded[crop] = (data, {which: load_pair_list(which, data, data_dir) for which in ("dev-test", "view2")})
            data, lists = loaded[crop]
            pairs = lists["dev-test"] if view == "view1" else lists["view2"].folds([record["fold"]])
            scored = score_pairs(model, data, pairs, view)
            folds.append({"model": str(file), "method": model.info.get("method"), "setting": model.info.get("setting"),
                          "experiment": record["name"], **scored})
            views.add(view)
        if len(views) > 1:
            raise ValueError("the runs mix View 1 (development) and View 2 (report) models; evaluate each view on its own.")
        curves[name] = [fold_roc(f) for f in folds]
        summary = summarize_folds(folds) if views == {"view2"} else {k: folds[0][k] for k in ("roc_auc", "eer", "n_pairs")}
        methods[name] = {"method": folds[0]["method"], "setting": folds[0]["setting"], "summary": summary,
                         "folds": [{k: v for k, v in f.items() if k not in ("distances", "same")} for f in folds]}
    results = tagged("lfw-eval", {"dataset": "lfw", "view": views.pop(), "methods": methods})
    if out is not None:
        from metrickit._provenance import provenance
        from metrickit.plotting import plot_roc_curves

        out.mkdir(parents=True, exist_ok=True)
        plot_roc_curves(curves, out / "roc.png", title=f"LFW {results['view'].replace('view', 'View ')}: people unseen in training",
                        overwrite=True)
        results["files"] = [RESULTS, "roc.png"]
        results["provenance"] = provenance()
        write_results(out / RESULTS, "lfw-eval", results)
    return results
