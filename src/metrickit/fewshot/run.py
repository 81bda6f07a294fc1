"""Few-shot runs on disk (what ``metrickit fewshot train|eval`` do): Omniglot training with its outputs, and
evaluation of models (and of Euclidean distance on pixels) side by side on the same seeded test episodes."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np

from metrickit.fewshot.train import FewShotConfig

__all__ = ["evaluate_fewshot", "parse_settings", "run_fewshot_training"]


def parse_settings(text: str) -> list[tuple[int, int]]:
    """'5x1,5x5,20x1' -> [(5, 1), (5, 5), (20, 1)] (n_way x n_shot)."""
    settings = []
    for item in (t.strip() for t in text.split(",") if t.strip()):
        try:
            way, shot = (int(v) for v in item.lower().split("x"))
        except ValueError:
            raise ValueError(f"`settings` entries must look like 5x1 (n_way x n_shot); got {item!r}.") from None
        settings.append((way, shot))
    return settings


def run_fewshot_training(
    config: FewShotConfig,
    out_dir: str | os.PathLike,
    *,
    split: str = "train",
    val_split: str | None = "val",
    data_dir: str | os.PathLike | None = None,
    resume: bool = False,
    overwrite: bool = False,
    quiet: bool = False,
) -> dict[str, Any]:
    """Train ``config.method`` on an Omniglot split and write model, checkpoint, results.json and training_curve.png.

    ``selected_episodes`` in the results is the number of training episodes up to the best validation epoch:
    what the final run on ``trainval`` (``val_split=None``) trains for.
    """
    from metrickit.datasets.omniglot import load_omniglot
    from metrickit.fewshot.train import train_fewshot
    from metrickit.models.artifact import DeepMetricModel
    from metrickit.training.run import prepare_run_dir, write_run

    out, checkpoint = prepare_run_dir(out_dir, resume=resume, overwrite=overwrite)
    began = time.perf_counter()
    train = load_omniglot(split, data_dir=data_dir)
    val = load_omniglot(val_split, data_dir=data_dir) if val_split else None
    load_seconds = time.perf_counter() - began
    out.mkdir(parents=True, exist_ok=True)
    result = train_fewshot(config, train, val, checkpoint=checkpoint, resume=resume, quiet=quiet)
    model = DeepMetricModel(result.model, train.preprocessing, "squared euclidean", None, [],
                            {"method": config.method, "fewshot": config.as_dict(), "split": split, "val_split": val_split,
                             "best_epoch": result.best_epoch})
    results = {"config": config.as_dict(), "split": split, "val_split": val_split, "n_train_classes": int(len(np.unique(train.y))),
               "best_epoch": result.best_epoch, "selected_episodes": result.best_epoch * config.episodes_per_epoch,
               "history": result.history, "load_seconds": load_seconds,
               "train_seconds": sum(h["seconds"] for h in result.history),
               "val_seconds": sum(h.get("val_seconds", 0.0) for h in result.history)}
    return write_run(out, model, result.history, results, config.threads)


def evaluate_fewshot(
    models: Mapping[str, str | os.PathLike | None],
    *,
    settings: Sequence[tuple[int, int]] = ((5, 1), (5, 5), (20, 1), (20, 5)),
    n_query: int = 15,
    n_episodes: int = 1000,
    seed: int = 0,
    split: str = "test",
    data_dir: str | os.PathLike | None = None,
    out_dir: str | os.PathLike | None = None,
    overwrite: bool = False,
    threads: int | None = None,
) -> dict[str, Any]:
    """Accuracy ± 95% CI of each model (name -> model file; ``None`` ranks raw pixels) on the same seeded episodes.

    The split's images are embedded once per model (BatchNorm in eval mode: no transductive statistics),
    and every model is scored on one episode file per N-way K-shot setting. With ``out_dir``, the episode
    files, ``results.json`` and ``accuracy.png`` are written there.
    """
    import torch

    from metrickit._provenance import provenance
    from metrickit.datasets.omniglot import load_omniglot
    from metrickit.fewshot.episodes import evaluate_episodes, make_episodes
    from metrickit.models.artifact import load_deep_model

    if threads:
        torch.set_num_threads(int(threads))
    if not models:
        raise ValueError("`models` is empty: give at least one model file, or None for Euclidean distance on pixels.")
    out = Path(out_dir) if out_dir is not None else None
    if out is not None and out.exists() and any(out.iterdir()) and not overwrite:
        raise FileExistsError(f"{out} already exists and is not empty; pass --overwrite or choose another --out.")
    loaded = {name: load_deep_model(path) if path is not None else None for name, path in models.items()}
    data = load_omniglot(split, data_dir=data_dir)
    _, codes = np.unique(data.y, return_inverse=True)
    files = {setting: make_episodes(codes, *setting, n_query, n_episodes, seed=seed) for setting in settings}
    methods = {}
    for name, model in loaded.items():
        began = time.perf_counter()
        embeddings = data.X.reshape(len(data.X), -1) if model is None else model.embedder.embed(data.X)
        embed_seconds = time.perf_counter() - began
        methods[name] = {"model": None if models[name] is None else str(models[name]),
                         "method": "euclidean (pixels)" if model is None else model.info.get("method", model.embedder.name),
                         "embed_seconds": embed_seconds, "results": [evaluate_episodes(embeddings, f).as_dict() for f in files.values()]}
    results = {"split": split, "n_classes": int(codes.max() + 1), "seed": seed, "n_query": n_query, "n_episodes": n_episodes,
               "episodes": [{"n_way": w, "n_shot": s, "sha256": f.sha256(), "file": f"episodes_{w}x{s}.npz"} for (w, s), f in files.items()],
               "methods": methods}
    if out is not None:
        from metrickit._io import write_json_atomic
        from metrickit.plotting import plot_fewshot_accuracy

        out.mkdir(parents=True, exist_ok=True)
        for entry, episode_file in zip(results["episodes"], files.values()):
            episode_file.save(out / entry["file"], overwrite=True)
        plot_fewshot_accuracy(methods, out / "accuracy.png", title=f"Omniglot {split} classes, {n_episodes} episodes per setting, "
                              f"{n_query} queries per class", overwrite=True)
        results["files"] = ["results.json", "accuracy.png", *(e["file"] for e in results["episodes"])]
        results["provenance"] = provenance(torch.get_num_threads())
        write_json_atomic(out / "results.json", results, overwrite=True)
    return results
