"""Which loss? Every loss under one backbone, one budget, one hyperparameter chosen on validation classes, 3 seeds.

After Musgrave et al. 2020 ("A Metric Learning Reality Check"): per task, one backbone and one budget for every loss.
Choosing: each loss's candidates (``_loss_grid.GRID``) train with the first seed on the task's fitting classes while
its validation classes score every epoch; the candidate with the best validation score wins, and its best epoch sets the
final runs' length. Final: the chosen setting trains on fitting + validation classes for that many epochs with every
seed (as Vinyals' few-shot protocol retrains on train + val), and only those runs are scored on the test classes,
which take no part in any choice. Euclidean distance on pixels is the floor. A loss is within noise of the best when
the difference of their means is under twice its standard error (sqrt(sd_a^2 / n + sd_b^2 / n)). Every run is
cached under --runs, so an interrupted comparison resumes.

Tasks:

- ``mnist``: conv-4, 64-d unless the candidate says otherwise, P x K batches (3 classes x 32) for up to 5 epochs of
  100 batches; fitting on 3 of the digits 0-4 while the other 2 (drawn with seed 0) validate (MAP@R); test MAP@R,
  P@1 and R-precision on the unseen digits 5-9.
- ``omniglot``: conv-4 (64-d, no projection unless the candidate says otherwise) on Vinyals' splits, a short fixed
  budget: up to 5 epochs of 60 episodes of 20 classes x 10 drawings (Prototypical Networks split them 5 support +
  5 query; every other loss sees them as a P x K batch); fitting on ``train.txt``, validation by 200 5-way 1-shot
  episodes of ``val.txt``; final on ``trainval.txt``; test: 5-way 1-shot accuracy (nearest prototype, 15 queries)
  on the same 1,000 seeded episodes of ``test.txt`` for every run.
- ``reid``: the Market-1501 subset's person split of seed 0 (40 fitting, 10 validation, 50 test persons) with
  ``metrickit reid train``'s backbone and budget (conv-4 128-d, up to 20 epochs of 20 batches of 8 persons x 4 images,
  flips); validation and test score mAP (and rank-1) by the subset's query/gallery protocol on their own persons.

    python bench/loss_comparison.py --task mnist|omniglot|reid [--losses triplet,arcface,...] [--seeds 0,1,2] [--threads 2]

Writes ``bench/results/loss-comparison-TASK.json``.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any, Callable

from _loss_grid import GRID
from _publish import publish

HERE = Path(__file__).resolve().parent
FEWSHOT_ONLY = {"protonet": {"(none)": {}}}  # Prototypical Networks train on episodes: the few-shot task only


class Task:
    """One task of the comparison: how a candidate trains while choosing, how a final run trains and is scored."""

    name: str
    metric: str  # the test score that ranks the losses (a key of score()["test"])
    metrics: tuple[str, ...]  # every test score reported
    val_metric: str  # what validation reports

    BUDGET: dict[str, Any]

    def grid(self) -> dict[str, dict[str, dict]]:
        return GRID

    def budget_of(self, args) -> dict[str, Any]:
        """The task's budget with --epochs and --batches-per-epoch on top, where given."""
        given = {"epochs": args.epochs, "batches_per_epoch": args.batches_per_epoch}
        return {**self.BUDGET, **{k: v for k, v in given.items() if v}}

    def config(self, settings: dict[str, Any], *, final: bool, seed: int, epochs: int | None = None) -> Any:
        raise NotImplementedError

    def select(self, config, quiet: bool) -> dict:
        """Train ``config`` on the fitting classes: best_epoch, val (the best epoch's score), fit_seconds."""
        raise NotImplementedError

    def score(self, config, quiet: bool) -> dict:
        """Train ``config`` on the final classes and score it on the test classes: fit_seconds, test (metric -> value)."""
        raise NotImplementedError


class MnistTask(Task):
    name, metric, metrics, val_metric = "mnist", "map_at_r", ("map_at_r", "precision_at_1", "r_precision"), "MAP@R"
    BUDGET = dict(architecture="conv4", embedding_dim=64, n_classes_per_batch=3, n_per_class=32, epochs=5, batches_per_epoch=100)
    DATA = dict(dataset="mnist", train_classes=[0, 1, 2, 3, 4], test_classes=[5, 6, 7, 8, 9], n_val_classes=2)

    def __init__(self, args):
        from metrickit.evaluation import retrieval_metrics
        from metrickit.training import load_config, prepare_classes
        from metrickit.training.loop import ClassSplit

        self.budget = self.budget_of(args)
        self.data_dir = args.data_dir
        split = prepare_classes(load_config(**self.DATA, **self.budget, data_dir=args.data_dir))
        self.final = prepare_classes(load_config(**{**self.DATA, "n_val_classes": 0}, **self.budget, data_dir=args.data_dir))
        check_disjoint(fit=split.fit_classes, val=split.val_classes, test=split.test_classes)
        check_disjoint(final=self.final.fit_classes, test=self.final.test_classes)
        self.choosing = ClassSplit(split.fit, split.val, None, split.fit_classes, split.val_classes, [])  # no test set: nothing to peek at
        self.classes = {"fit": split.fit_classes, "val": split.val_classes, "final": self.final.fit_classes, "test": self.final.test_classes}
        test = self.final.test
        self.pixels = retrieval_metrics(test.X.reshape(len(test.X), -1), test.labels, backend="exact").as_dict()
        self.describe = {"data": self.DATA, "budget": self.budget}

    def config(self, settings, *, final, seed, epochs=None):
        from metrickit.training import load_config

        more = {"n_val_classes": 0, "epochs": epochs} if final else {}
        return load_config(**{**self.DATA, **self.budget, "data_dir": self.data_dir, "seed": seed, **settings, **more})

    def select(self, config, quiet):
        from metrickit.training import train

        result = train(config, quiet=quiet, split=self.choosing)
        return {"best_epoch": result.best_epoch, "val": result.history[result.best_epoch - 1]["val_map_at_r"],
                "fit_seconds": sum(h["seconds"] for h in result.history)}

    def score(self, config, quiet):
        from metrickit.training import train

        result = train(config, quiet=quiet, split=self.final)
        return {"fit_seconds": sum(h["seconds"] for h in result.history), "test": result.test.as_dict()}


class OmniglotTask(Task):
    name, metric, metrics, val_metric = "omniglot", "accuracy_5w1s", ("accuracy_5w1s",), "5-way 1-shot accuracy"
    BUDGET = dict(n_way=20, n_shot=5, n_query=5, epochs=5, batches_per_epoch=60)
    TEST = dict(n_way=5, n_shot=1, n_query=15, n_episodes=1000, seed=0)

    def __init__(self, args):
        import numpy as np

        from metrickit.datasets.omniglot import load_omniglot, split_classes
        from metrickit.fewshot.episodes import evaluate_episodes, make_episodes

        self.budget = self.budget_of(args)
        names = {split: split_classes(split, args.data_dir) for split in ("train", "val", "trainval", "test")}
        check_disjoint(fit=names["train"], val=names["val"], test=names["test"])
        check_disjoint(final=names["trainval"], test=names["test"])
        if set(names["trainval"]) != set(names["train"]) | set(names["val"]):
            raise SystemExit("trainval.txt is not train.txt + val.txt")
        self.data = {split: load_omniglot(split, data_dir=args.data_dir) for split in ("train", "val", "trainval", "test")}
        _, codes = np.unique(self.data["test"].labels, return_inverse=True)
        self.episodes = make_episodes(codes, **self.TEST)
        test = self.data["test"]
        self.pixels = {"accuracy_5w1s": evaluate_episodes(test.X.reshape(len(test.X), -1), self.episodes).accuracy}
        self.classes = {"fit": f"train.txt ({len(names['train'])} classes)", "val": f"val.txt ({len(names['val'])})",
                        "final": f"trainval.txt ({len(names['trainval'])})", "test": f"test.txt ({len(names['test'])})"}
        self.describe = {"data": {"dataset": "omniglot", "splits": "Vinyals et al. 2016 (rotations as classes)"}, "budget": self.budget,
                         "test_episodes": {**self.TEST, "sha256": self.episodes.sha256()}}

    def grid(self):
        return {**FEWSHOT_ONLY, **GRID}

    def config(self, settings, *, final, seed, epochs=None):
        from metrickit.fewshot.config import FewShotConfig, ObjectiveConfig

        config = FewShotConfig(objective=ObjectiveConfig(loss=settings["loss"]))
        return config.with_flat(**{**self.budget, **settings, "seed": seed, **({"epochs": epochs} if final else {})})

    def select(self, config, quiet):
        from metrickit.fewshot.train import train_fewshot

        result = train_fewshot(config, self.data["train"], self.data["val"], quiet=quiet)
        return {"best_epoch": result.best_epoch, "val": result.history[result.best_epoch - 1]["val_accuracy"],
                "fit_seconds": sum(h["seconds"] for h in result.history)}

    def score(self, config, quiet):
        from metrickit.fewshot.episodes import evaluate_episodes
        from metrickit.fewshot.train import train_fewshot

        result = train_fewshot(config, self.data["trainval"], None, quiet=quiet)
        report = evaluate_episodes(result.model.embed(self.data["test"].X), self.episodes)
        return {"fit_seconds": sum(h["seconds"] for h in result.history), "test": {"accuracy_5w1s": report.accuracy, "ci95": report.ci95}}


class ReidTask(Task):
    name, metric, metrics, val_metric = "reid", "map", ("map", "rank1"), "mAP"
    BUDGET = dict(epochs=20, batches_per_epoch=20)  # ReidConfig's: 8 persons x 4 images, flips, conv-4 128-d

    def __init__(self, args):
        from metrickit.datasets.reid import load_market1501_subset
        from metrickit.reid.train import split_persons

        self.budget = self.budget_of(args)
        self.data = load_market1501_subset(args.data_dir)
        self.split = split_persons(self.data.labels, seed=0)  # an IdentitySplit: its test, val and fit persons are checked disjoint
        self.test = self.data.of(self.split.test)
        self.pixels = self._scores(self.test.X.reshape(len(self.test.X), -1).astype("float32"))
        self.classes = {"fit": f"{len(self.split.fit)} persons", "val": f"{len(self.split.val)} persons",
                        "final": f"those {len(self.split.fit) + len(self.split.val)} persons", "test": f"{len(self.split.test)} other persons"}
        self.describe = {"data": {"dataset": "market1501_subset", "split_seed": 0, "persons": self.split.as_dict()}, "budget": self.budget}

    def _scores(self, embeddings) -> dict:
        """mAP and rank-1 of the test persons' query/gallery protocol (one query per person and camera; same person and
        camera ignored), as validation scores its own persons."""
        from metrickit.datasets.reid import reid_queries
        from metrickit.evaluation.reid import reid_metrics

        queries, cameras = reid_queries(self.test), self.test.extra["camera"]
        report = reid_metrics(embeddings[queries], embeddings, self.test.labels[queries], self.test.labels, cameras[queries], cameras,
                              query_positions=queries)
        return {"map": float(report.mean_ap), "rank1": float(report.rank1)}

    def config(self, settings, *, final, seed, epochs=None):
        from metrickit.reid import ReidConfig

        more = {k: v for k, v in settings.items() if k != "loss"}
        return ReidConfig(method=settings["loss"]).with_flat(**{**self.budget, **more, "seed": seed, **({"epochs": epochs} if final else {})})

    def select(self, config, quiet):
        from metrickit.reid.train import train_split

        _, record = train_split(self.data, self.split, config, quiet=quiet)
        return {"best_epoch": record["best_epoch"], "val": record["val_map"], "fit_seconds": record["train_seconds"]}

    def score(self, config, quiet):
        from metrickit.datasets.labeled import LabeledSet
        from metrickit.reid.train import deep_train_config, standardised
        from metrickit.training import train
        from metrickit.training.loop import ClassSplit

        persons = sorted(self.split.fit + self.split.val)
        fit = self.data.of(persons)
        prep = standardised(fit)  # as train_split prepares its training persons
        began = time.perf_counter()
        result = train(deep_train_config(config, config.loop.seed), quiet=quiet,
                       split=ClassSplit(LabeledSet(prep.apply(fit.X), fit.labels, prep), None, None, persons, [], []))
        seconds = time.perf_counter() - began
        embedder = result.model.embedder.eval()  # as train_split scores its embedder: on standardised inputs
        return {"fit_seconds": seconds, "test": self._scores(embedder.embed(prep.apply(self.test.X)))}


TASKS: dict[str, Callable[[Any], Task]] = {"mnist": MnistTask, "omniglot": OmniglotTask, "reid": ReidTask}


def check_disjoint(**groups) -> None:
    """Refuse overlapping class groups (training, validation, test): a score on seen classes is no score."""
    names = list(groups)
    for i, a in enumerate(names):
        for b in names[i + 1:]:
            shared = set(groups[a]) & set(groups[b])
            if shared:
                raise SystemExit(f"the {a} and {b} classes overlap ({len(shared)} shared, e.g. {sorted(map(str, shared))[0]})")


def main(argv=None) -> int:
    import numpy as np

    from metrickit._provenance import provenance
    from metrickit._threads import limit_threads
    from metrickit.runs import cached_json

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--task", choices=sorted(TASKS), default="mnist")
    parser.add_argument("--losses", default=None, help="comma-separated; default: every loss the task trains")
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--epochs", type=int, default=None, help="the budget's epochs (default: the task's)")
    parser.add_argument("--batches-per-epoch", type=int, default=None, help="the budget's batches or episodes per epoch (default: the task's)")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--runs", default=None, help="cache of every run (resumed); default runs/loss-comparison/TASK")
    parser.add_argument("--out", default=None, help="default bench/results/loss-comparison-TASK.json")
    parser.add_argument("--quiet", action="store_true")
    args = parser.parse_args(argv)
    limit_threads(args.threads)
    started = time.strftime("%Y-%m-%d %H:%M:%S")
    task = TASKS[args.task](args)
    grid = task.grid()
    losses, seeds = (args.losses.split(",") if args.losses else list(grid)), [int(s) for s in args.seeds.split(",")]
    unknown = sorted(set(losses) - set(grid))
    if unknown:
        raise SystemExit(f"--losses must be among {', '.join(grid)} for task {task.name}; unknown: {unknown}")
    runs = Path(args.runs or HERE.parent / "runs" / "loss-comparison" / task.name)

    def cached(loss: str, candidate: str, name: str, config, compute) -> dict:
        return cached_json(runs / loss / candidate / f"{name}.json", lambda: {"config": config.as_dict(), **compute()},
                           matching={"config": config.as_dict()})

    rows = {}
    for loss in losses:
        selection = {}
        for candidate, settings in grid[loss].items():
            config = task.config({"loss": loss, **settings}, final=False, seed=seeds[0])
            selection[candidate] = cached(loss, candidate, f"select-seed{seeds[0]}", config, lambda c=config: task.select(c, args.quiet))
        chosen = max(selection, key=lambda name: selection[name]["val"])
        epochs = selection[chosen]["best_epoch"]
        repeats = []
        for seed in seeds:
            config = task.config({"loss": loss, **grid[loss][chosen]}, final=True, seed=seed, epochs=epochs)
            repeats.append(cached(loss, chosen, f"final-{epochs}-epochs-seed{seed}", config, lambda c=config: task.score(c, args.quiet)))
        test = {key: [r["test"][key] for r in repeats] for key in task.metrics}
        rows[loss] = {"candidates": {name: {"settings": grid[loss][name], "val": r["val"], "best_epoch": r["best_epoch"]}
                                     for name, r in selection.items()},
                      "chosen": chosen, "epochs": epochs, "repeats": [{"seed": s, **r} for s, r in zip(seeds, repeats)],
                      "summary": {key: {"mean": float(np.mean(v)), "sd": float(np.std(v, ddof=1)) if len(v) > 1 else 0.0} for key, v in test.items()}}
        s = rows[loss]["summary"][task.metric]
        print(f"{loss:18s} chose {chosen:16s} ({epochs} epochs)  test {task.metric} {s['mean']:.4f} ± {s['sd']:.4f}", flush=True)
    best = max(rows, key=lambda loss: rows[loss]["summary"][task.metric]["mean"])
    for loss, row in rows.items():
        a, b = row["summary"][task.metric], rows[best]["summary"][task.metric]
        se = float(np.sqrt(a["sd"] ** 2 / len(seeds) + b["sd"] ** 2 / len(seeds)))
        row["versus_best"] = {"difference": a["mean"] - b["mean"], "se": se, "within_noise": bool(abs(a["mean"] - b["mean"]) < 2 * se)}
    record = {"benchmark": "loss-comparison", "task": task.name, "metric": task.metric, "metrics": list(task.metrics),
              "val_metric": task.val_metric, **task.describe, "seeds": seeds, "classes": task.classes, "pixels": task.pixels,
              "losses": rows, "best": best, "provenance": provenance(), "started": started, "finished": time.strftime("%Y-%m-%d %H:%M:%S")}
    publish(args.out or str(HERE / "results" / f"loss-comparison-{task.name}.json"), "loss-comparison", record)
    return 0


if __name__ == "__main__":
    sys.exit(main())
