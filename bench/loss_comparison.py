"""Which loss? Every loss under one backbone, one budget, one hyperparameter chosen on validation classes, 3 seeds.

MNIST task (after Musgrave et al. 2020, "A Metric Learning Reality Check"): conv-4 (64-d unless the candidate says
otherwise) and one budget for every loss. Choosing: each loss's candidates (``_loss_grid.GRID``) train with seed 0 on 3
of the digits 0-4 while the other 2 (drawn with seed 0) validate (MAP@R after every epoch); the candidate with the best
validation MAP@R wins, and its best epoch sets the final runs' length. Final: the chosen setting trains on all of 0-4
for that many epochs with seeds 0, 1 and 2 (as Vinyals' few-shot protocol retrains on train + val), and only those
runs are scored on the unseen digits 5-9 (MAP@R, P@1, R-precision): the test classes take no part in any choice.
Euclidean distance on pixels is the floor. A loss is within noise of the best when the difference of their means is
under twice its standard error (sqrt(sd_a^2 / 3 + sd_b^2 / 3)). Every run is cached under --runs, so an interrupted
comparison resumes.

    python bench/loss_comparison.py [--losses triplet,arcface,...] [--seeds 0,1,2] [--threads 2]

Writes ``bench/results/loss-comparison-mnist.json``.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from _loss_grid import GRID
from _publish import publish

HERE = Path(__file__).resolve().parent
BUDGET = dict(architecture="conv4", embedding_dim=64, n_classes_per_batch=3, n_per_class=32, epochs=5, batches_per_epoch=100)
DATA = dict(dataset="mnist", train_classes=[0, 1, 2, 3, 4], test_classes=[5, 6, 7, 8, 9], n_val_classes=2)


def main(argv=None) -> int:
    import numpy as np

    from metrickit._provenance import provenance
    from metrickit._threads import limit_threads
    from metrickit.evaluation import retrieval_metrics
    from metrickit.runs import cached_json
    from metrickit.training import load_config, prepare_classes, train
    from metrickit.training.loop import ClassSplit

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--losses", default=",".join(GRID))
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--epochs", type=int, default=BUDGET["epochs"])
    parser.add_argument("--batches-per-epoch", type=int, default=BUDGET["batches_per_epoch"])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--runs", default=str(HERE.parent / "runs" / "loss-comparison" / "mnist"), help="cache of every run (resumed)")
    parser.add_argument("--out", default=str(HERE / "results" / "loss-comparison-mnist.json"))
    parser.add_argument("--quiet", action="store_true")
    args = parser.parse_args(argv)
    limit_threads(args.threads)
    losses, seeds = args.losses.split(","), [int(s) for s in args.seeds.split(",")]
    unknown = sorted(set(losses) - set(GRID))
    if unknown:
        raise SystemExit(f"--losses must be among {', '.join(GRID)}; unknown: {unknown}")
    budget = {**BUDGET, "epochs": args.epochs, "batches_per_epoch": args.batches_per_epoch}
    started = time.strftime("%Y-%m-%d %H:%M:%S")
    split = prepare_classes(load_config(**DATA, **budget, data_dir=args.data_dir))
    final = prepare_classes(load_config(**{**DATA, "n_val_classes": 0}, **budget, data_dir=args.data_dir))
    if set(split.test_classes) & {*split.fit_classes, *split.val_classes} or set(final.test_classes) & set(final.fit_classes):
        raise SystemExit("the test classes overlap the training or validation classes")
    choosing = ClassSplit(split.fit, split.val, None, split.fit_classes, split.val_classes, [])  # no test set: nothing to peek at
    pixels = retrieval_metrics(final.test.X.reshape(len(final.test.X), -1), final.test.labels, backend="exact").as_dict()

    def settings(loss: str, candidate: str, seed: int, **more) -> dict:
        return {**DATA, **budget, "data_dir": args.data_dir, "loss": loss, "seed": seed, **GRID[loss][candidate], **more}

    def select(loss: str, candidate: str) -> dict:
        config = load_config(**settings(loss, candidate, seeds[0]))

        def compute() -> dict:
            result = train(config, quiet=args.quiet, split=choosing)
            return {"config": config.as_dict(), "best_epoch": result.best_epoch, "val_map_at_r": result.history[result.best_epoch - 1]["val_map_at_r"],
                    "fit_seconds": sum(h["seconds"] for h in result.history)}
        return cached_json(Path(args.runs) / loss / candidate / f"select-seed{seeds[0]}.json", compute, matching={"config": config.as_dict()})

    def score(loss: str, candidate: str, seed: int, epochs: int) -> dict:
        config = load_config(**settings(loss, candidate, seed, n_val_classes=0, epochs=epochs))

        def compute() -> dict:
            result = train(config, quiet=args.quiet, split=final)
            return {"config": config.as_dict(), "fit_seconds": sum(h["seconds"] for h in result.history), "test": result.test.as_dict()}
        return cached_json(Path(args.runs) / loss / candidate / f"final-{epochs}-epochs-seed{seed}.json", compute,
                           matching={"config": config.as_dict()})

    rows = {}
    for loss in losses:
        selection = {name: select(loss, name) for name in GRID[loss]}
        chosen = max(selection, key=lambda name: selection[name]["val_map_at_r"])
        epochs = selection[chosen]["best_epoch"]
        repeats = [score(loss, chosen, seed, epochs) for seed in seeds]
        test = {key: [r["test"][key] for r in repeats] for key in ("map_at_r", "precision_at_1", "r_precision")}
        rows[loss] = {"candidates": {name: {"settings": GRID[loss][name], "val_map_at_r": r["val_map_at_r"], "best_epoch": r["best_epoch"]}
                                     for name, r in selection.items()},
                      "chosen": chosen, "epochs": epochs, "repeats": [{"seed": s, **r} for s, r in zip(seeds, repeats)],
                      "summary": {key: {"mean": float(np.mean(v)), "sd": float(np.std(v, ddof=1)) if len(v) > 1 else 0.0} for key, v in test.items()}}
        s = rows[loss]["summary"]["map_at_r"]
        print(f"{loss:18s} chose {chosen:16s} ({epochs} epochs)  test MAP@R {s['mean']:.4f} ± {s['sd']:.4f}", flush=True)
    best = max(rows, key=lambda loss: rows[loss]["summary"]["map_at_r"]["mean"])
    for loss, row in rows.items():
        a, b = row["summary"]["map_at_r"], rows[best]["summary"]["map_at_r"]
        se = float(np.sqrt(a["sd"] ** 2 / len(seeds) + b["sd"] ** 2 / len(seeds)))
        row["versus_best"] = {"difference": a["mean"] - b["mean"], "se": se, "within_noise": bool(abs(a["mean"] - b["mean"]) < 2 * se)}
    record = {"benchmark": "loss-comparison", "task": "mnist", "data": DATA, "budget": budget, "seeds": seeds,
              "classes": {"fit": split.fit_classes, "val": split.val_classes, "final": final.fit_classes, "test": final.test_classes},
              "pixels": pixels, "losses": rows, "best": best, "provenance": provenance(), "started": started,
              "finished": time.strftime("%Y-%m-%d %H:%M:%S")}
    publish(args.out, "loss-comparison", record)
    return 0


if __name__ == "__main__":
    sys.exit(main())
