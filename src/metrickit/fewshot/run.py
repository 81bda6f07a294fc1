"""Few-shot runs on disk (what ``metrickit fewshot train|eval`` do): Omniglot training with its outputs, and
evaluation of models (and of Euclidean distance on pixels) side by side on the same seeded test episodes."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np

from metrickit.datasets.omniglot import characters_of
from metrickit.fewshot.config import FewShotConfig
from metrickit.runs import CHECKPOINT, RESULTS, check_out_dir, prepare_run_dir, tagged, write_results

__all__ = ["VAL_SPLITS", "check_training_splits", "evaluate_fewshot", "parse_settings", "run_fewshot_training"]


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


VAL_SPLITS = ("auto", "val", "alphabets", "none")


def check_training_splits(split: str, val_split: str | None) -> str | None:
    """The validation split a training split gets ('val', 'alphabets' or None), refusing every overlapping pair.

    ``auto``: Vinyals' ``val.txt`` for ``train``, held-out background alphabets for ``background`` (Lake's protocol),
    none for ``trainval`` (the final run, which already contains every ``val.txt`` class).
    """
    val_split = "none" if val_split is None else val_split
    if split not in ("train", "trainval", "background"):
        raise ValueError(f"`split` must be 'train', 'trainval' or 'background' for training; got {split!r}.")
    if val_split not in VAL_SPLITS:
        raise ValueError(f"`val_split` must be one of {', '.join(map(repr, VAL_SPLITS))}; got {val_split!r}.")
    if val_split == "auto":
        val_split = {"train": "val", "trainval": "none", "background": "alphabets"}[split]
    if val_split == "val" and split != "train":
        contains = "every val.txt class" if split == "trainval" else "every val.txt character (they are background characters)"
        raise ValueError(f"`val_split` 'val' cannot validate `split` {split!r}: it contains {contains}. "
                         + ("Use --val-split none for the final trainval run." if split == "trainval"
                            else "Use --val-split alphabets (seeded held-out background alphabets) or none."))
    if val_split == "alphabets" and split != "background":
        raise ValueError(f"`val_split` 'alphabets' holds out background alphabets and needs `split` 'background'; got {split!r}.")
    return None if val_split == "none" else val_split


def run_fewshot_training(
    config: FewShotConfig,
    out_dir: str | os.PathLike,
    *,
    split: str = "train",
    val_split: str | None = "auto",
    n_val_alphabets: int = 5,
    data_dir: str | os.PathLike | None = None,
    resume: bool = False,
    overwrite: bool = False,
    quiet: bool = False,
) -> dict[str, Any]:
    """Train ``config``'s method on an Omniglot split and write model, checkpoint, results.json and training_curve.png.

    ``selected_episodes`` in the results is the number of training episodes up to the best validation epoch:
    what the final run (``trainval`` with ``val_split=None``) trains for. With ``split='background'`` and held-out
    alphabets (Lake's protocol, the default there), one call does both: a selection run on the background alphabets
    minus ``n_val_alphabets`` seeded ones (in ``out_dir/selection``), validated on those, then the final run on all
    964 background characters for the selected number of episodes. The model file lists the characters of its
    training and validation classes (``info['train_characters']``, ``info['val_characters']``), which
    ``fewshot make-runs`` and ``fewshot eval --runs`` check against.
    """
    from metrickit.datasets.omniglot import hold_out_alphabets, split_classes

    val_split = check_training_splits(split, val_split)
    out = Path(out_dir)
    if val_split != "alphabets":
        prepare_run_dir(out, resume=resume, overwrite=overwrite)
        classes = split_classes(split, data_dir)
        val_classes = split_classes(val_split, data_dir) if val_split else None
        return _train_stage(config, out, classes, val_classes, {"split": split, "val_split": val_split}, data_dir, resume, quiet)
    selection_dir = out / "selection"
    if resume and not (selection_dir / CHECKPOINT).is_file() and not (out / CHECKPOINT).is_file():
        raise FileNotFoundError(f"cannot resume: neither {selection_dir / CHECKPOINT} nor {out / CHECKPOINT} exists.")
    if not resume:
        prepare_run_dir(out, resume=False, overwrite=overwrite)
    classes = split_classes(split, data_dir)
    fit_classes, held_classes = hold_out_alphabets(classes, n_val_alphabets, config.loop.seed)
    alphabets = sorted({name.split("/", 1)[0] for name in held_classes})
    about = {"split": split, "val_split": val_split, "val_alphabets": alphabets}
    if resume and (selection_dir / RESULTS).is_file():
        selection = json.loads((selection_dir / RESULTS).read_text())
    else:
        selection = _train_stage(config, selection_dir, fit_classes, held_classes, about, data_dir,
                                 resume and (selection_dir / CHECKPOINT).is_file(), quiet)
    final_config = config.with_flat(epochs=selection["best_epoch"])
    return _train_stage(final_config, out, classes, None, {**about, "selection": _selection_summary(selection)}, data_dir,
                        resume and (out / CHECKPOINT).is_file(), quiet, val_characters=characters_of(held_classes))


def _selection_summary(selection: dict[str, Any]) -> dict[str, Any]:
    keys = ("config", "best_epoch", "selected_episodes", "n_train_classes", "history", "train_seconds", "val_seconds", "load_seconds")
    return {"folder": "selection", **{k: selection[k] for k in keys}}


def _train_stage(
    config: FewShotConfig,
    out: Path,
    classes: list[str],
    val_classes: list[str] | None,
    about: dict[str, Any],
    data_dir: str | os.PathLike | None,
    resume: bool,
    quiet: bool,
    *,
    val_characters: list[str] | None = None,
) -> dict[str, Any]:
    """Train on ``classes`` (validating on ``val_classes`` when given) into the run folder ``out``."""
    from metrickit.datasets.omniglot import load_omniglot_classes
    from metrickit.fewshot.train import train_fewshot
    from metrickit.models.artifact import DeepMetricModel
    from metrickit.training.run import write_run

    began = time.perf_counter()
    train = load_omniglot_classes(classes, data_dir=data_dir)
    val = load_omniglot_classes(val_classes, data_dir=data_dir) if val_classes else None
    load_seconds = time.perf_counter() - began
    out.mkdir(parents=True, exist_ok=True)
    result = train_fewshot(config, train, val, checkpoint=out / CHECKPOINT, resume=resume, quiet=quiet)
    characters = {"train_characters": characters_of(classes),
                  "val_characters": characters_of(val_classes) if val_classes else list(val_characters or [])}
    model = DeepMetricModel(result.model, train.preprocessing, "squared euclidean", None, [],
                            {"method": config.objective.loss, "fewshot": config.as_dict(), **about, "best_epoch": result.best_epoch, **characters})
    results = {"config": config.as_dict(), **about, "n_train_classes": len(classes),
               "best_epoch": result.best_epoch, "selected_episodes": result.best_epoch * config.loop.batches_per_epoch,
               "history": result.history, "load_seconds": load_seconds,
               "train_seconds": sum(h["seconds"] for h in result.history),
               "val_seconds": sum(h.get("val_seconds", 0.0) for h in result.history), "processes": result.processes}
    return write_run(out, "fewshot-training", model, result.history, results)


def _refuse_seen_characters(loaded: Mapping[str, Any], paths: Mapping[str, Any], characters: set[str], split: str, data_dir) -> None:
    """Raise if a model trained or validated on a character of the evaluation split (e.g. a trainval model on 'val')."""
    from metrickit.fewshot.oneshot import model_characters

    for name, model in loaded.items():
        seen = sorted(model_characters(model.info, data_dir) & characters)
        if seen:
            raise ValueError(f"model {name!r} ({paths[name]}) trained or validated on {len(seen)} characters of the {split!r} split "
                             f"(e.g. {seen[0]}); score it on classes it never saw.")


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

) -> dict[str, Any]:
    """Accuracy ± 95% CI of each model (name -> model file; ``None`` ranks raw pixels) on the same seeded episodes.

    The split's images are embedded once per model (BatchNorm in eval mode: no transductive statistics),
    and every model is scored on one episode file per N-way K-shot setting. With ``out_dir``, the episode
    files, ``results.json`` and ``accuracy.png`` are written there.
    """
    from metrickit._provenance import provenance
    from metrickit.datasets.omniglot import load_omniglot
    from metrickit.fewshot.episodes import evaluate_episodes, make_episodes
    from metrickit.models.base import EuclideanModel, load_model

    if not models:
        raise ValueError("`models` is empty: give at least one model file, or None for Euclidean distance on pixels.")
    out = check_out_dir(out_dir, overwrite)
    data = load_omniglot(split, data_dir=data_dir)
    loaded = {name: load_model(path) if path is not None else EuclideanModel(data.preprocessing) for name, path in models.items()}
    _refuse_seen_characters(loaded, models, set(characters_of(data.labels)), split, data_dir)
    _, codes = np.unique(data.labels, return_inverse=True)
    files = {setting: make_episodes(codes, *setting, n_query, n_episodes, seed=seed) for setting in settings}
    methods = {}
    for name, model in loaded.items():
        began = time.perf_counter()
        embeddings = model.embed_prepared(data.X)
        embed_seconds = time.perf_counter() - began
        methods[name] = {"model": None if models[name] is None else str(models[name]),
                         "method": "euclidean (pixels)" if models[name] is None else model.info.get("method", model.name),
                         "embed_seconds": embed_seconds, "results": [evaluate_episodes(embeddings, f).as_dict() for f in files.values()]}
    results = tagged("fewshot-eval", {
        "split": split, "n_classes": int(codes.max() + 1), "seed": seed, "n_query": n_query, "n_episodes": n_episodes,
        "episodes": [{"n_way": w, "n_shot": s, "sha256": f.sha256(), "file": f"episodes_{w}x{s}.npz"} for (w, s), f in files.items()],
        "methods": methods})
    if out is not None:
        from metrickit.plotting import plot_fewshot_accuracy

        out.mkdir(parents=True, exist_ok=True)
        for entry, episode_file in zip(results["episodes"], files.values()):
            episode_file.save(out / entry["file"], overwrite=True)
        plot_fewshot_accuracy(methods, out / "accuracy.png", title=f"Omniglot {split} classes, {n_episodes} episodes per setting, "
                              f"{n_query} queries per class", overwrite=True)
        results["files"] = ["results.json", "accuracy.png", *(e["file"] for e in results["episodes"])]
        results["provenance"] = provenance()
        write_results(out / RESULTS, "fewshot-eval", results)
    return results
