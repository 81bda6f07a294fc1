"""Face verification on ORL with nested evaluation: does a learned metric beat pixels on people no choice saw?

Outer folds: 6 of 5 subjects (s1-s30). In each, the other 25 subjects choose each method's setting from its candidates
(one hyperparameter per loss, by the mean EER of --n-inner inner cross-identity folds) and train the chosen one as a
final model (5 seeded validation subjects choose its epoch and set its threshold); it is scored once on the outer 5.
Every deep method is the same conv-4 (128-d) with horizontal flips and one budget; the candidates are
``_loss_grid.GRID``'s. Pixels (Euclidean) and PCA + LMNN have nothing to choose. The paired
difference of each method's outer EER against pixels, with its standard error over the outer folds, says whether a
gain is more than noise. Every training is cached under --runs, so an interrupted run resumes.

    python bench/verification_nested.py [--methods euclidean,lmnn,triplet,...] [--n-inner 3] [--epochs 15] [--threads 2]

Writes ``bench/results/verify-orl-nested.json``.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from _loss_grid import GRID, SCALE
from _publish import publish

HERE = Path(__file__).resolve().parent
BUDGET = dict(epochs=15, batches_per_epoch=25, augment="flip")  # the folds' budget in bench/verification.py, with flips
CANDIDATES = {"euclidean": {"pixels": {}}, "lmnn": {"pca+lmnn": {}}, **GRID}  # method -> {candidate name: settings}
BASELINE = "euclidean"


def main(argv=None) -> int:
    from metrickit._provenance import provenance
    from metrickit._threads import limit_threads
    from metrickit.datasets.identities import load_identities
    from metrickit.verification import VerifyConfig, nested_verification, paired_difference

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--methods", default=",".join(CANDIDATES))
    parser.add_argument("--n-outer", type=int, default=6)
    parser.add_argument("--n-inner", type=int, default=3)
    parser.add_argument("--epochs", type=int, default=BUDGET["epochs"])
    parser.add_argument("--batches-per-epoch", type=int, default=BUDGET["batches_per_epoch"])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--runs", default=str(HERE.parent / "runs" / "verification-nested"), help="cache of every training (resumed)")
    parser.add_argument("--out", default=str(HERE / "results" / "verify-orl-nested.json"))
    parser.add_argument("--quiet", action="store_true")
    args = parser.parse_args(argv)
    limit_threads(args.threads)
    names = args.methods.split(",")
    unknown = sorted(set(names) - set(CANDIDATES))
    if unknown or BASELINE not in names:
        raise SystemExit(f"--methods must be among {', '.join(CANDIDATES)} and include {BASELINE}; unknown: {unknown}")
    budget = {**BUDGET, "epochs": args.epochs, "batches_per_epoch": args.batches_per_epoch}
    started = time.strftime("%Y-%m-%d %H:%M:%S")
    data = load_identities("orl", args.data_dir)
    results = {}
    for method in names:
        deep = method not in ("euclidean", "lmnn")
        candidates = {name: VerifyConfig.from_flat({"method": method, "seed": args.seed, **(budget if deep else {}), **settings})
                      for name, settings in CANDIDATES[method].items()}
        began = time.perf_counter()
        results[method] = nested_verification(data, candidates, n_outer=args.n_outer, n_inner=args.n_inner, seed=args.seed,
                                              cache=Path(args.runs) / method, quiet=args.quiet,
                                              log=lambda line, method=method: print(f"{method}: {line}", flush=True))
        results[method]["seconds"] = time.perf_counter() - began
    pixels = [f["report"] for f in results[BASELINE]["folds"]]
    paired = {method: {key: paired_difference([f["report"][key] for f in result["folds"]], [r[key] for r in pixels])
                       for key in ("eer", "roc_auc")} for method, result in results.items() if method != BASELINE}
    record = {"benchmark": "verify-orl-nested", "dataset": "orl", "n_outer": args.n_outer, "n_inner": args.n_inner, "n_val": 5,
              "seed": args.seed, "budget": budget, "scale": SCALE, "baseline": BASELINE, "methods": results, "paired": paired,
              "provenance": provenance(), "started": started, "finished": time.strftime("%Y-%m-%d %H:%M:%S")}
    publish(args.out, "verify-nested-benchmark", record)
    return 0


if __name__ == "__main__":
    sys.exit(main())
