"""Face verification on LFW under its own protocol: View 1 chooses every setting, View 2's ten folds report.

``--stage view1`` (development): each method's candidate settings (face crop and size, HOG cell, PCA size, LMNN's
neighbours; for deep methods the input size, with the epoch count read from a 20-epoch run scored on pairsDevTest
after every epoch; every model but pixels' averages a face with its mirror image) are trained on pairsDevTrain and scored by ROC AUC on pairsDevTest. The best candidate of each
method is recorded in ``bench/results/lfw-view1.json``; nothing else is chosen anywhere.

``--stage view2`` (the report): the settings recorded by View 1 are read back, never changed, and each method runs
LFW's ten experiments (test fold k; fold k + 1 sets the threshold; the other eight train: pairs only when
image-restricted, every image of their people when unrestricted). Reported: mean accuracy ± standard error over the
folds, mean AUC and EER, TAR at FAR 1% over the pooled 3,000 mismatched pairs (distances in units of each fold's
threshold), minutes per fold, the published figures of the same protocol, and paired per-fold differences of the best
learned deep metric against the classifier embedding (softmax) and pixels. The mean ROC curves go to
``bench/results/lfw-roc.png``. Every training is cached under --runs, so an interrupted stage resumes.

    python bench/lfw.py --stage view1 [--methods ...] [--threads 2]
    python bench/lfw.py --stage view2 [--methods ...] [--threads 2]
"""

from __future__ import annotations

import argparse
import functools
import sys
import time
from pathlib import Path

from _publish import publish

HERE = Path(__file__).resolve().parent
HOG_GRID = [dict(size=s, cell=c, pca_dim=d) for s in (64, 80) for c in (6, 8) for d in (60, 100, 150)]
DEEP_GRID = [dict(size=48)]  # conv-4 (32 filters) at 48 x 48: what 3 hours of 2 cores allow for six deep methods x 10 folds
DEEP_EPOCHS = 12
# (method, setting) -> candidates; settings shared by all: crop 120 unless a candidate says otherwise
CANDIDATES = {
    ("euclidean", "restricted"): [dict(crop=c, size=48, flip=f) for c in (100, 120, 140) for f in (False, True)],
    ("pca", "restricted"): [dict(crop=c, size=48, pca_dim=d) for c in (100, 120) for d in (50, 100, 200)],
    ("hog-pca", "restricted"): HOG_GRID,
    ("hog-kissme", "restricted"): [{**c, "root": r} for c in HOG_GRID for r in (True, False)],
    ("hog-lmnn", "unrestricted"): [dict(size=s, cell=6, pca_dim=d, target_neighbors=k) for s in (64, 80) for d in (60, 100, 150) for k in (1, 2)],
    ("contrastive", "restricted"): DEEP_GRID,
    ("contrastive", "unrestricted"): DEEP_GRID,
    ("triplet", "unrestricted"): DEEP_GRID,
    ("arcface", "unrestricted"): DEEP_GRID,
    ("cosface", "unrestricted"): DEEP_GRID,
    ("softmax", "unrestricted"): DEEP_GRID,
}
PUBLISHED = [
    {"method": "LDML (Guillaumin, Verbeek & Schmid, ICCV 2009)", "setting": "restricted", "accuracy": 0.793,
     "source": "ICCV 2009 abstract, doi:10.1109/ICCV.2009.5459197 (descriptors behind the figure unverified)"},
    {"method": "LDML/MkNN (same paper)", "setting": "unrestricted", "accuracy": 0.875, "source": "same abstract"},
]


def key(method: str, setting: str) -> str:
    return f"{method}/{setting}"


def make_config(method: str, setting: str, settings: dict, seed: int):
    from metrickit.lfw.config import LfwConfig

    return LfwConfig.from_flat(method=method, setting=setting, seed=seed, **{"crop": 120, **settings})


@functools.lru_cache(maxsize=2)
def lfw(crop: int, size: int, data_dir: str | None):
    """The LFW images decoded by one crop and the three pair lists resolved against them: loaded once per crop."""
    from metrickit.datasets.lfw import PAIR_FILES, lfw_preprocessing, load_lfw, load_pair_list

    data = load_lfw(lfw_preprocessing(crop, size), data_dir)
    return data, {which: load_pair_list(which, data, data_dir) for which in PAIR_FILES}


def view1(args, chosen_methods) -> dict:
    from metrickit.evaluation.verification import equal_error_rate, roc_auc
    from metrickit.lfw.config import CLASSIC_METHODS
    from metrickit.lfw.protocol import view1_experiment
    from metrickit.lfw.train import pair_distances, train_experiment
    from metrickit.runs import cached_json

    rows = {}
    for method, setting in chosen_methods:
        tried = []
        for k, settings in enumerate(CANDIDATES[(method, setting)]):
            deep = method not in CLASSIC_METHODS
            config = make_config(method, setting, {**settings, **({"epochs": DEEP_EPOCHS} if deep else {})}, args.seed)

            def run(config=config, deep=deep):
                data, lists = lfw(config.crop, config.size, args.data_dir)
                experiment = view1_experiment(lists["dev-train"], lists["dev-test"])
                began = time.perf_counter()
                model, record = train_experiment(data, experiment, config, monitor=experiment.test if deep else None, quiet=args.quiet)
                scores = experiment.test.split(pair_distances(model.embed, data, experiment.test))
                history = record.get("deep", {}).get("history", [])
                return {"config": config.as_dict(), "roc_auc": roc_auc(*scores), "eer": equal_error_rate(*scores)[0],
                        "seconds": time.perf_counter() - began,
                        "best_epoch": record.get("deep", {}).get("best_epoch"), "training": record["training"],
                        "curve": [{"epoch": h["epoch"], "val_roc_auc": h.get("val_roc_auc"), "loss": h["loss"]} for h in history]}

            result = cached_json(Path(args.runs) / "view1" / method / setting / f"candidate{k}.json", run, matching={"config": config.as_dict()})
            tried.append({"settings": settings, **{k2: result[k2] for k2 in ("roc_auc", "eer", "seconds", "best_epoch", "training", "curve")}})
            print(f"View 1 {method} ({setting}) {settings}: AUC {result['roc_auc']:.4f}, EER {result['eer']:.4f}, "
                  f"{result['seconds']:.0f} s, best epoch {result['best_epoch']}", flush=True)
        best = max(tried, key=lambda t: t["roc_auc"])
        chosen = {**best["settings"], **({"epochs": best["best_epoch"]} if best["best_epoch"] else {})}
        rows[key(method, setting)] = {"method": method, "setting": setting, "chosen": chosen, "chosen_roc_auc": best["roc_auc"], "tried": tried}
    return rows


def view2(args, chosen_methods, choices: dict) -> dict:
    import numpy as np

    from metrickit.lfw.evaluate import score_pairs, summarize_folds
    from metrickit.lfw.protocol import view2_experiments
    from metrickit.lfw.train import train_experiment
    from metrickit.runs import cached_json

    rows = {}
    for method, setting in chosen_methods:
        if key(method, setting) not in choices:
            raise SystemExit(f"View 1 chose no setting for {method} ({setting}); run --stage view1 for it first.")
        config = make_config(method, setting, choices[key(method, setting)]["chosen"], args.seed)
        folds = []
        for k in range(10):
            def run(k=k, config=config):
                data, lists = lfw(config.crop, config.size, args.data_dir)
                experiment = view2_experiments(lists["view2"])[k]
                began = time.perf_counter()
                model, record = train_experiment(data, experiment, config, quiet=args.quiet)
                scored = score_pairs(model, data, experiment.test, "view2")  # checks the model's people and view against fold k
                return {"config": config.as_dict(), "fold": k + 1, **scored, "calibration_accuracy": record.get("calibration_accuracy"),
                        "training": record["training"], "seconds": time.perf_counter() - began}

            fold = cached_json(Path(args.runs) / "view2" / method / setting / f"fold{k + 1}.json", run, matching={"config": config.as_dict()})
            folds.append(fold)
            print(f"View 2 {method} ({setting}) fold {k + 1}: accuracy {fold['accuracy']:.4f}, {fold['seconds']:.0f} s", flush=True)
        summary = summarize_folds(folds)
        rows[key(method, setting)] = {"method": method, "setting": setting, "settings": choices[key(method, setting)]["chosen"],
                                      "summary": summary, "minutes_per_fold": float(np.mean([f["seconds"] for f in folds]) / 60),
                                      "folds": [{k2: f[k2] for k2 in ("fold", "accuracy", "roc_auc", "eer", "threshold", "calibration_accuracy",
                                                                      "training", "seconds")} for f in folds],
                                      "_curves": folds}
    return rows


def comparisons(rows: dict) -> dict:
    """Per setting, the best deep metric against the classifier embedding and pixels, paired by fold."""
    from metrickit.lfw.config import CLASSIC_METHODS
    from metrickit.verification.nested import paired_difference

    out = {}
    accuracy = lambda name: [f["accuracy"] for f in rows[name]["folds"]]  # noqa: E731
    for setting in ("restricted", "unrestricted"):
        deep = [name for name, row in rows.items() if row["setting"] == setting and row["method"] not in CLASSIC_METHODS and row["method"] != "softmax"]
        learned = [name for name, row in rows.items() if row["setting"] == setting and row["method"] not in ("euclidean", "pca", "hog-pca")]
        entry = {}
        if learned:
            entry["best_learned"] = max(learned, key=lambda n: rows[n]["summary"]["accuracy_mean"])
        if deep:
            best = max(deep, key=lambda n: rows[n]["summary"]["accuracy_mean"])
            entry["best_deep"] = best
            for baseline in ("softmax/unrestricted", "euclidean/restricted"):
                if baseline in rows:
                    entry[f"vs_{baseline.split('/')[0]}"] = paired_difference(accuracy(best), accuracy(baseline))
        if entry:
            out[setting] = entry
    return out


def main(argv=None) -> int:
    import json

    from metrickit._provenance import provenance
    from metrickit._threads import limit_threads

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--stage", required=True, choices=("view1", "view2"))
    parser.add_argument("--methods", default=",".join(key(*m) for m in CANDIDATES), help="method/setting pairs")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--runs", default=str(HERE.parent / "runs" / "lfw-bench"), help="cache of every training (resumed)")
    parser.add_argument("--view1", default=str(HERE / "results" / "lfw-view1.json"), help="View 1's choices (written by --stage view1)")
    parser.add_argument("--out", default=None, help="default: bench/results/lfw-view1.json or lfw.json")
    parser.add_argument("--quiet", action="store_true")
    args = parser.parse_args(argv)
    limit_threads(args.threads)
    chosen = [tuple(m.split("/")) for m in args.methods.split(",")]
    unknown = [m for m in chosen if m not in CANDIDATES]
    if unknown:
        raise SystemExit(f"--methods must be among {', '.join(key(*m) for m in CANDIDATES)}; unknown: {unknown}")
    started = time.strftime("%Y-%m-%d %H:%M:%S")
    began = time.perf_counter()
    common = {"threads": args.threads, "seed": args.seed, "started": started}
    if args.stage == "view1":
        rows = view1(args, chosen)
        record = {"benchmark": "lfw-view1", **common, "protocol": "train pairsDevTrain (restricted: its pairs; unrestricted: every image "
                  "of its people with >= 2 images), score pairsDevTest by ROC AUC; deep methods scored after every epoch",
                  "rows": list(rows.values()), "seconds": time.perf_counter() - began, "provenance": provenance(),
                  "finished": time.strftime("%Y-%m-%d %H:%M:%S")}
        publish(args.out or HERE / "results" / "lfw-view1.json", "lfw-view1", record)
        return 0
    choices = {key(r["method"], r["setting"]): r for r in json.loads(Path(args.view1).read_text())["rows"]}
    rows = view2(args, chosen, choices)
    figure = Path(args.runs) / "view2" / "roc.png"
    _plot(rows, figure)
    for row in rows.values():
        row.pop("_curves")
    record = {"benchmark": "lfw", **common, "view1_choices": str(Path(args.view1).name), "published": PUBLISHED, "rows": list(rows.values()),
              "comparisons": comparisons(rows), "seconds": time.perf_counter() - began, "provenance": provenance(),
              "finished": time.strftime("%Y-%m-%d %H:%M:%S")}
    publish(args.out or HERE / "results" / "lfw.json", "lfw-benchmark", record, {"roc": figure})
    return 0


def _plot(rows: dict, figure: Path) -> None:
    from metrickit.lfw.evaluate import fold_roc
    from metrickit.plotting import plot_roc_curves

    figure.parent.mkdir(parents=True, exist_ok=True)
    plot_roc_curves({name: [fold_roc(fold) for fold in row["_curves"]] for name, row in rows.items()}, figure,
                    title="LFW View 2: 10 person-disjoint folds", overwrite=True)


if __name__ == "__main__":
    sys.exit(main())
