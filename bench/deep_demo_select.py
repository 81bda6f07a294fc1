"""Choose the demo's triplet embedder on validation classes only: train on digits 0-3, rank 4-5.

The demo trains on digits 0-5 and tests on the unseen 6-9; its settings are picked here without
looking at 6-9: each candidate trains on the training-split images of 0-3 and is scored by MAP@R
(leave-one-out) over all images of 4-5. Writes bench/results/deep-demo-select.json.

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
    import torch
    from sklearn.model_selection import train_test_split

    from metrickit._io import write_json_atomic
    from metrickit._provenance import provenance
    from metrickit.datasets import load_bundled
    from metrickit.datasets.labeled import LabeledSet, Preprocessing
    from metrickit.evaluation import retrieval_metrics
    from metrickit.linear import LMNN
    from metrickit.training import ClassSplit, load_config, train

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--out", default=str(HERE / "results" / "deep-demo-select.json"))
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    X, y = load_bundled("digits")
    X_train, _, y_train, _ = train_test_split(X, y, test_size=0.3, stratify=y, random_state=0)  # the demo's split
    fit, val = np.isin(y_train, [0, 1, 2, 3]), np.isin(y, [4, 5])
    prep = Preprocessing("image", (1, 8, 8), scale=1 / 16, mean=0.3059, std=0.3821)
    split = ClassSplit(LabeledSet(prep.apply(X_train[fit]), y_train[fit], prep), None, LabeledSet(prep.apply(X[val]), y[val], prep),
                       [0, 1, 2, 3], [], [4, 5])
    rows = [{"method": "euclidean", "val_map_at_r": retrieval_metrics(X[val], y[val], backend="exact").map_at_r},
            {"method": "lmnn", "val_map_at_r": retrieval_metrics(LMNN(random_state=0).fit(X_train[fit], y_train[fit]).transform(X[val]), y[val], backend="exact").map_at_r}]
    grid = {"hidden": [[128]], "embedding_dim": [16, 32], "margin": [0.1, 0.2, 0.4], "epochs": [10, 30]}
    for values in itertools.product(*grid.values()):
        settings = dict(zip(grid, values))
        config = load_config(dataset="digits", architecture="mlp", normalize=True, loss="triplet", miner="semihard", n_val_classes=0,
                             n_classes_per_batch=4, n_per_class=16, batches_per_epoch=50, seed=0, **settings)
        began = time.perf_counter()
        result = train(config, quiet=True, split=split)
        rows.append({"method": "triplet", **settings, "val_map_at_r": result.test.map_at_r, "seconds": time.perf_counter() - began})
        print(rows[-1], flush=True)
    best = max((r for r in rows if r["method"] == "triplet"), key=lambda r: r["val_map_at_r"])
    print("euclidean", rows[0]["val_map_at_r"], "lmnn", rows[1]["val_map_at_r"], "best", best)
    write_json_atomic(args.out, {"benchmark": "deep-demo-select", "fit_classes": [0, 1, 2, 3], "validation_classes": [4, 5],
                                 "rows": rows, "selected": best, "provenance": provenance(args.threads)}, overwrite=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
