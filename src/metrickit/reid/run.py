"""Re-identification runs on disk (what ``metrickit reid train|eval`` do).

``train`` writes one folder per seed (``seed<k>/model.safetensors``, plus ``training_curve.png`` for deep methods),
the final model trained on every person but its validation ones (``final/``), and ``results.json``. ``eval`` scores each model on its split's unseen test persons: queries are one image per
(person, camera), the lowest frame; the gallery is every image of the test persons; same person and same camera
is junk. It writes ``results.json`` (mAP and CMC per seed, mean ± sd over seeds) and ``cmc.png``.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any, Mapping, Sequence

from metrickit.reid.train import ReidConfig

__all__ = ["evaluate_reid_runs", "run_reid_training"]

def run_reid_training(
    config: ReidConfig,
    out_dir: str | os.PathLike,
    *,
    seeds: Sequence[int] = (0, 1, 2, 3, 4),
    final: bool = True,
    data_dir: str | os.PathLike | None = None,
    overwrite: bool = False,
    quiet: bool = False,
) -> dict[str, Any]:
    """Train ``config.method`` on the Market-1501 subset once per seed (each seed its own person split) into ``out_dir``.

    With ``final``, the model to use afterwards (``final/model.safetensors``) then trains the same way on every person
    but ``config.n_val`` validation persons (drawn with the first seed), which choose its epoch or PCA size.
    """
    from metrickit.datasets.reid import load_market1501_subset
    from metrickit.reid.train import final_split, split_persons, train_split
    from metrickit.runs import prepare_run_dir
    from metrickit.training.run import train_repeats

    out, _ = prepare_run_dir(out_dir, resume=False, overwrite=overwrite)
    began = time.perf_counter()
    data = load_market1501_subset(data_dir)
    load_seconds = time.perf_counter() - began
    return train_repeats(out, "reid-training", "seed", [int(s) for s in seeds],
                         lambda seed: train_split(data, split_persons(data.labels, seed, config.n_test, config.n_val), config, quiet=quiet),
                         {"dataset": "market1501_subset", "config": config.as_dict(), "load_seconds": load_seconds},
                         desc=f"{config.method} on market1501_subset", quiet=quiet,
                         final=(lambda: train_split(data, final_split(data.labels, int(seeds[0]), config.n_val), config, quiet=quiet))
                         if final else None)


def evaluate_reid_runs(
    runs: Mapping[str, str | os.PathLike],
    *,
    rerank: bool = False,
    ap: str = "torchreid",
    data_dir: str | os.PathLike | None = None,
    out_dir: str | os.PathLike | None = None,
    overwrite: bool = False,
) -> dict[str, Any]:
    """mAP and CMC of each run (name -> ``reid train`` folder or model file) on its splits' unseen test persons,
    with k-reciprocal re-ranking as well when ``rerank``; mean and sd over seeds. ``ap`` is the AP form
    (:func:`~metrickit.evaluation.reid.reid_metrics`), recorded as ``ap_rule``."""
    import numpy as np

    from metrickit.datasets.reid import load_market1501_subset, reid_queries
    from metrickit.evaluation.reid import reid_metrics
    from metrickit.models.base import load_model
    from metrickit.runs import check_out_dir, repeat_models, tagged
    from metrickit.evaluation.summary import mean_sd

    if not runs:
        raise ValueError("`runs` is empty: give at least one `reid train` folder or model file.")
    out = check_out_dir(out_dir, overwrite)
    loaded = {name: [(path, load_model(path)) for path in repeat_models(run, "seed", "metrickit reid train")] for name, run in runs.items()}
    data = load_market1501_subset(data_dir)
    methods, projections = {}, {}
    for name, models in loaded.items():
        rows = []
        for path, model in models:
            split = model.info.get("split")
            if not split:
                raise ValueError(f"{path} records no person split; train it with `metrickit reid train`.")
            if not split["test"]:
                raise ValueError(f"{path} is a final model: it trained on every person but its validation ones, so no test person "
                                 "is left to score it on; evaluate the run's seed models (seed<k>/model.safetensors).")
            leaked = sorted(set(split["test"]) & (set(model.training_classes) | set(split["val"])))
            if leaked:
                raise ValueError(f"{path}: its test persons {leaked[:5]} were among its training or validation persons; "
                                 "it cannot be scored on them.")
            test = data.of(split["test"])
            embeddings = model.embed(test.X).astype(np.float64)
            queries = reid_queries(test)
            cameras = test.extra["camera"]
            args = (embeddings[queries], embeddings, test.labels[queries], test.labels, cameras[queries], cameras)
            row = {"seed": split["seed"], "model": str(path), "n_gallery": len(embeddings),
                   "plain": reid_metrics(*args, query_positions=queries, ap=ap).as_dict()}
            if rerank:
                row["reranked"] = reid_metrics(*args, query_positions=queries, rerank=True, ap=ap).as_dict()
            rows.append(row)
            projections.setdefault(name, (embeddings, test.labels))
        summary = {kind: {key: mean_sd([r[kind][key] for r in rows]) for key in ("mean_ap", "rank1", "rank5", "rank10")}
                   for kind in ("plain", "reranked") if kind in rows[0]}
        methods[name] = {"method": models[0][1].info.get("method"), "summary": summary, "repeats": rows}
    from metrickit.evaluation.rerank import K1, K2, LAMBDA

    results = tagged("reid-eval", {"dataset": "market1501_subset", "rerank": bool(rerank), "ap_rule": ap, "methods": methods,
                                   **({"reranking": {"k1": K1, "k2": K2, "lambda": LAMBDA}} if rerank else {})})
    if out is not None:
        _write_report(out, results, projections)
    return results


def _write_report(out: Path, results: dict[str, Any], projections: dict[str, tuple]) -> None:
    import numpy as np

    from metrickit._provenance import provenance
    from metrickit.plotting import plot_cmc_curves, plot_embedding_projections
    from metrickit.runs import RESULTS, write_results

    out.mkdir(parents=True, exist_ok=True)
    curves = {f"{name}{' (re-ranked)' if kind == 'reranked' else ''}": np.mean([r[kind]["cmc"] for r in entry["repeats"]], axis=0)
              for name, entry in results["methods"].items() for kind in ("plain", "reranked") if kind in entry["repeats"][0]}
    plot_cmc_curves(curves, out / "cmc.png", title="Market-1501 subset: unseen test persons (mean over seeds)", overwrite=True)
    results["files"] = ["results.json", "cmc.png"]
    if len({tuple(labels.tolist()) for _, labels in projections.values()}) == 1:  # the first seeds' test persons agree
        plot_embedding_projections({name: Z for name, (Z, _) in projections.items()}, next(iter(projections.values()))[1],
                                   out / "projection.png", overwrite=True)
        results["files"].append("projection.png")
    results["provenance"] = provenance()
    write_results(out / RESULTS, "reid-eval", results)
