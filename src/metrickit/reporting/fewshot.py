"""Sections for few-shot learning: the episode-shape choice, the full Omniglot protocol, training runs and evaluations."""

from __future__ import annotations

from pathlib import Path
from typing import Callable

from metrickit._config import flatten
from metrickit.reporting._common import images, provenance_bullets, titled
from metrickit.reporting.document import Bullets, Paragraph, Section, Table
from metrickit.training.config import MARGINS

__all__ = ["BUILDERS"]


def _fewshot_shapes(record: dict, path: Path) -> list[Section]:
    rows = []
    for row in record["rows"]:
        v = row["validation"]
        rows.append([" x ".join(map(str, row["shape"])), str(row["images_per_episode"]), str(row["episodes"]), f"{row['train_seconds']:.0f}",
                     *(f"{v[s]['accuracy']:.2%} ± {v[s]['ci95']:.2%}" for s in ("5-way 1-shot", "20-way 1-shot"))])
    return [Section("Few-shot Omniglot: choosing the training episode shape on validation classes", [
        Paragraph(f"Prototypical Networks trained on `train.txt` for the same number of images ({record['images']:,}, so about the same "
                  "compute) per episode shape, constant learning rate; scored on 1,000 `val.txt` episodes (15 queries per class). "
                  "The test split is not used."),
        provenance_bullets(record),
        Table(["episode shape (way x shot x query)", "images per episode", "episodes", "training (s)", "validation 5-way 1-shot",
               "validation 20-way 1-shot"], rows),
        Paragraph(f"Selected: {' x '.join(map(str, record['selected']))} (best validation 20-way 1-shot accuracy)."),
    ])]


def _episode_table(test: dict, extra: Callable[[str], list[str]] | None = None, extra_columns: list[str] | None = None) -> Table:
    settings = [f"{e['n_way']}-way {e['n_shot']}-shot" for e in test["episodes"]]
    rows = [[name, *(f"{r['accuracy']:.2%} ± {r['ci95']:.2%}" for r in entry["results"]), *(extra(name) if extra else [])]
            for name, entry in test["methods"].items()]
    return Table(["method", *settings, *(extra_columns or [])], rows)


def _fewshot_protocol(record: dict, path: Path) -> list[Section]:
    test, methods, oneshot = record["test"], record["methods"], record.get("oneshot", {})
    config = flatten(next(iter(methods.values()))["config"])
    margin = config["margin"] if config["margin"] is not None else MARGINS["triplet"]
    stages = {name: (m, stage) for m in methods.values() for name, stage in m["models"].items()}

    def budget(name: str) -> list[str]:
        errors = [f"{o['results'][name]['mean_error']:.1%}" if name in o["results"] else "-" for o in oneshot.values()]
        if name not in stages:
            return [*errors, "-", "-", "-", "-"]
        m, stage = stages[name]
        per_epoch = flatten(m["config"])["batches_per_epoch"]
        if stage == "selection":
            run = m["selection"]
            return [*errors, "`train.txt`", f"{m['selected_episodes']} of {len(run['history']) * per_epoch}", f"{run['train_seconds']:.0f}",
                    f"{run['val_seconds']:.0f}"]
        if stage == "final":
            return [*errors, "`trainval.txt`", str(m["selected_episodes"]), f"{m['final']['train_seconds']:.0f}", "-"]
        lake = m["lake"]
        selection = lake["selection"]  # the two-stage run's selection part
        return [*errors, f"`images_background` ({lake['final']['n_train_classes'] // 4} characters)",
                f"{selection['selected_episodes']} of {len(selection['history']) * per_epoch}",
                f"{selection['train_seconds']:.0f} + {lake['final']['train_seconds']:.0f}", f"{selection['val_seconds']:.0f}"]

    lake_alphabets = next((m["lake"]["val_alphabets"] for m in methods.values() if m.get("lake")), [])
    run_sets = " ".join(f"{kind}: {o['note']} ({len(o['alphabets'])} alphabets, {o['n_excluded_characters']} characters left out)."
                        for kind, o in oneshot.items()) or "No one-shot runs in this record."
    return [Section("Few-shot Omniglot: Prototypical Networks and baselines on the same test episodes", [
        Paragraph(f"Every network is conv-4 (64-d) trained on {config['n_way']}-way {config['n_shot']}-shot {config['n_query']}-query "
                  f"episodes (Adam {config['learning_rate']:g}, halved every {config['lr_halve_every']} episodes): the number of episodes is "
                  f"chosen on `val.txt` ({config['val_n_way']}-way 1-shot, {config['val_episodes']} episodes, after every "
                  f"{config['batches_per_epoch']}) and the best epoch's weights are kept: the `(train)` rows, every method trained on "
                  "the training classes only. For the `(trainval)` rows a fresh run then trains on `trainval.txt` for the selected number "
                  "of episodes (the protocol's final model). " + (
                      "The `(background)` rows follow Lake's protocol: the number of episodes is chosen on background alphabets held out "
                      f"of training ({', '.join(lake_alphabets)}), then a fresh run trains on every `images_background` character (in four "
                      "rotations) for that many episodes. " if lake_alphabets else "") + "The softmax baseline "
                  "learns a classifier over the training classes from the same episodes' images and is used as a feature extractor; the "
                  f"triplet baseline uses semi-hard triplets (margin {margin:g}) on the same images as P x K batches. Test: "
                  f"{test['n_classes']} unseen `test.txt` classes, {test['n_episodes']} episodes per setting, {test['n_query']} queries per "
                  "class, one seeded episode file per setting shared by every method, nearest prototype in squared Euclidean distance, "
                  "BatchNorm in eval mode. Accuracy ± 95% CI. Training time counts the training steps only; validation and decoding are "
                  "separate. One-shot runs: 20 within-alphabet 20-way runs each, in the official layout, built by `metrickit fewshot "
                  f"make-runs` (seed {record['seed']}) from `images_evaluation.zip`, with only characters the scored models never trained "
                  f"or validated on (`fewshot eval --runs` refuses any other model); mean error over runs. {run_sets}"),
        provenance_bullets(record),
        _episode_table(test, budget, [*(f"one-shot runs error ({kind})" for kind in oneshot), "trained on", "episodes (selected of run)",
                                      "training (s)", "validation (s)"]),
        Paragraph("Episode files: " + ", ".join(f"{e['n_way']}x{e['n_shot']} `{e['sha256'][:16]}`" for e in test["episodes"]) + "."),
        *images(path.parent, [(path.stem + ".png", "accuracy per setting, 95% CI"),
                               (path.stem + "-validation.png", "validation accuracy per epoch of the selection runs")]),
    ])]


def _fewshot_eval(record: dict, path: Path) -> list[Section]:
    return [Section(titled("Few-shot evaluation", path), [
        Paragraph(f"Omniglot {record['split']} ({record['n_classes']} classes), {record['n_episodes']} episodes per setting (seed "
                  f"{record['seed']}), {record['n_query']} queries per class; accuracy ± 95% CI."),
        provenance_bullets(record), _episode_table(record), *images(path.parent, [("accuracy.png", "accuracy per setting")]),
    ])]


def _fewshot_training(record: dict, path: Path) -> list[Section]:
    config = flatten(record["config"])
    per_epoch = config["batches_per_epoch"]
    runs = [("selection run", record["selection"]), ("final run", record)] if record.get("selection") else [("run", record)]
    items = []
    for name, run in runs:
        best = run["history"][run["best_epoch"] - 1] if run.get("history") else {}
        val = (f"; best validation {config['val_n_way']}-way {config['val_n_shot']}-shot {best['val_accuracy']:.2%} at epoch "
               f"{run['best_epoch']} ({run['selected_episodes']} episodes)" if best.get("val_accuracy") is not None else "")
        items.append(f"{name}: {run['n_train_classes']} classes, {len(run['history'])} x {per_epoch} episodes in "
                     f"{run['train_seconds']:.0f} s{val}")
    if record.get("val_alphabets"):
        items.append(f"validation alphabets (held out of the selection run): {', '.join(record['val_alphabets'])}")
    return [Section(titled(f"Few-shot training: {config['loss']} on {record['split']}", path, parenthesised=True), [
        Bullets(items), provenance_bullets(record), *images(path.parent, [("training_curve.png", "training curve")])])]


def _oneshot_eval(record: dict, path: Path) -> list[Section]:
    rows = [[name, f"{error:.1%}"] for name, error in zip(record["runs"], record["errors"])]
    alphabets = f" from {len(record['alphabets'])} alphabets" if record.get("alphabets") else ""
    return [Section(f"{record['model']} on {len(rows)} one-shot runs{alphabets}", [
        Table(["run", "error"], rows), Paragraph(f"Mean error {record['mean_error']:.2%}.")])]


BUILDERS = {
    "fewshot-shapes": _fewshot_shapes,
    "fewshot-omniglot": _fewshot_protocol,
    "fewshot-eval": _fewshot_eval,
    "fewshot-training": _fewshot_training,
    "oneshot-eval": _oneshot_eval,
}
