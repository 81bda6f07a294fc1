"""Few-shot runs on disk (what ``metrickit fewshot train|eval`` do): Omniglot training with its outputs, and
evaluation of a model (or of Euclidean distance on pixels) on seeded test episodes."""

from __future__ import annotations

import os
import time
from typing import Any, Sequence

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
    """Train Prototypical Networks on an Omniglot split and write model, checkpoint, results.json and training_curve.png."""
    from metrickit.datasets.omniglot import load_omniglot
    from metrickit.fewshot.train import train_protonet
    from metrickit.models.artifact import DeepMetricModel
    from metrickit.training.run import prepare_run_dir, write_run

    out, checkpoint = prepare_run_dir(out_dir, resume=resume, overwrite=overwrite)
    began = time.perf_counter()
    train = load_omniglot(split, data_dir=data_dir)
    val = load_omniglot(val_split, data_dir=data_dir) if val_split else None
    load_seconds = time.perf_counter() - began
    out.mkdir(parents=True, exist_ok=True)
    result = train_protonet(config, train, val, checkpoint=checkpoint, resume=resume, quiet=quiet)
    model = DeepMetricModel(result.model, train.preprocessing, "squared euclidean", None, [],
                            {"fewshot": config.as_dict(), "split": split, "val_split": val_split, "best_epoch": result.best_epoch})
    results = {"config": config.as_dict(), "split": split, "val_split": val_split, "n_train_classes": int(len(np.unique(train.y))),
               "best_epoch": result.best_epoch, "history": result.history, "load_seconds": load_seconds,
               "train_seconds": sum(h["seconds"] for h in result.history)}
    return write_run(out, model, result.history, results, config.threads)


def evaluate_fewshot(
    model_path: str | os.PathLike | None,
    *,
    settings: Sequence[tuple[int, int]] = ((5, 1), (5, 5), (20, 1), (20, 5)),
    n_query: int = 15,
    n_episodes: int = 1000,
    seed: int = 0,
    split: str = "test",
    data_dir: str | os.PathLike | None = None,
) -> dict[str, Any]:
    """Accuracy ± 95% CI on seeded episodes of an Omniglot split; ``model_path=None`` ranks raw pixels (Euclidean).

    The test images are embedded once (BatchNorm in eval mode: no transductive statistics).
    """
    from metrickit.datasets.omniglot import load_omniglot
    from metrickit.fewshot.episodes import evaluate_episodes, make_episodes
    from metrickit.models.artifact import load_deep_model

    data = load_omniglot(split, data_dir=data_dir)
    began = time.perf_counter()
    if model_path is None:
        embeddings = data.X.reshape(len(data.X), -1)
    else:
        embeddings = load_deep_model(model_path).embedder.embed(data.X)
    embed_seconds = time.perf_counter() - began
    _, codes = np.unique(data.y, return_inverse=True)
    rows = []
    for n_way, n_shot in settings:
        episodes = make_episodes(codes, n_way, n_shot, n_query, n_episodes, seed=seed)
        rows.append(evaluate_episodes(embeddings, episodes).as_dict())
    return {"model": str(model_path) if model_path else "euclidean (pixels)", "split": split, "seed": seed,
            "embed_seconds": embed_seconds, "results": rows}
