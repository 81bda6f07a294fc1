"""Choose the demo's triplet embedder on validation classes only, by leave-two-classes-out folds of 0-5.

The demo trains on digits 0-5 and tests on the unseen 6-9; its settings are picked here without
looking at 6-9: in each of three folds a candidate trains on the training-split images of four of
the digits 0-5 and is scored by MAP@R (leave-one-out) over all images of the other two; the mean
over folds decides. Euclidean and LMNN are scored the same way. Writes bench/results/deep-demo-select.json.

    python bench/deep_demo_select.py [--threads 2]
"""

from __future__ import annotations

import argparse
import itertools
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main(argv=None) -> int:
    import numpy as np
    from sklearn.model_selection import train_test_split

    from metrickit.reporting import result_text
    from metrickit.runs import write_results
    from metrickit._provenance import provenance
    from metrickit.datasets import load_bundled
    from metrickit.datasets.labeled import LabeledSet, Preprocessing
    from metrickit.evaluation import retrieval_metrics
    from metrickit.linear import LMNN
    from metrickit._threads import limit_threads
    from metrickit.training import ClassSplit, TrainConfig, train

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--out", default=str(HERE / "results" / "deep-demo-select.json"))
    args = parser.parse_args(argv)
    limit_threads(args.threads)
    X, y = load_bundled("digits")
    X_train, _, y_train, _ = train_test_split(X, y, test_size=0.3, stratify=y, random_state=0)  # the demo's split
    prep = Preprocessing("image", (1, 8, 8), scale=1 / 16, mean=0.3059, std=0.3821)
    folds = [[4, 5], [2, 3], [0, 1]]

    def score(method: str, **settings) -> dict:
        values = []
        for held in folds:
            kept = [c for c in range(6) if c not in held]
            fit, val = np.isin(y_train, kept), np.isin(y, held)
            if method == "euclidean":
                Z = X[val]
            elif method == "lmnn":
                Z = LMNN(random_state=0).fit(X_train[fit], y_train[fit]).transform(X[val])
            else:
                split = ClassSplit(LabeledSet(prep.apply(X_train[fit]), y_train[fit], prep), None,
                                   LabeledSet(prep.apply(X[val]), y[val], prep), kept, [], held)
                config = TrainConfig.from_flat(dataset="digits", architecture="mlp", loss="triplet", n_val_classes=0, n_classes_per_batch=4,
                                     n_per_class=16, batches_per_epoch=50, seed=0, **settings)
                Z = train(config, quiet=True, split=split).model.embedder.embed(split.test.X)
            values.append(retrieval_metrics(Z, y[val], backend="exact").map_at_r)
        row = {"method": method, **settings, "val_map_at_r": float(np.mean(values)), "per_fold": values}
        print(row, flush=True)
        return row

    rows = [score("euclidean"), score("lmnn")]
    grid = {"hidden": [[], [128]], "embedding_dim": [32], "normalize": [True, False], "miner": ["semihard", "all"],
            "margin": [0.2, 1.0], "epochs": [10, 30]}
    for values in itertools.product(*grid.values()):
        rows.append(score("triplet", **dict(zip(grid, values))))
    best = max((r for r in rows if r["method"] == "triplet"), key=lambda r: r["val_map_at_r"])
    written = write_results(args.out, "deep-demo-select", {"benchmark": "deep-demo-select", "folds": [[c for c in range(6) if c not in held] for held in folds],
                                 "validation_classes": folds,
                                 "rows": rows, "selected": best, "provenance": provenance(),
                                 "finished": time.strftime("%Y-%m-%d %H:%M:%S")})
    print(result_text(written, args.out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
