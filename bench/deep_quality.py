"""Quality on unseen classes: MNIST, train on digits 0-4 (training split), test on 5-9 (test split).

Retrieval metrics (MAP@R, precision@1, R-precision; leave-one-out among the 4,861 test images of
5-9) for Euclidean distance on pixels and on PCA-50 (fitted on the 0-4 training images), a softmax
classifier's embedding, and the contrastive and triplet (batch-all, batch-hard, semi-hard) embedders.
Every network is the same conv-4 backbone with a 64-d projection, trained with the same budget
(epochs x batches of P x K images), seed and optimiser; nothing is tuned on the test classes (no
validation classes either: each method runs its fixed budget, and the last epoch is evaluated).

    python bench/deep_quality.py [--epochs 5] [--batches-per-epoch 100] [--threads 2]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
METHODS = {
    "softmax": dict(loss="softmax"),
    "contrastive": dict(loss="contrastive", margin=1.0),
    "triplet batch-all": dict(loss="triplet", miner="all", margin=0.2),
    "triplet batch-hard": dict(loss="triplet", miner="hard", margin=0.2),
    "triplet semi-hard": dict(loss="triplet", miner="semihard", margin=0.2),
}


def main(argv=None) -> int:
    from sklearn.decomposition import PCA

    from metrickit.reporting import result_text
    from metrickit.runs import write_results
    from metrickit._provenance import provenance
    from metrickit.evaluation import retrieval_metrics
    from metrickit._threads import limit_threads
    from metrickit.training import load_config, prepare_classes, train

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--batches-per-epoch", type=int, default=100)
    parser.add_argument("--n-per-class", type=int, default=32)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--methods", default=",".join(METHODS))
    parser.add_argument("--out", default=str(HERE / "results" / "deep-quality-mnist.json"))
    args = parser.parse_args(argv)
    limit_threads(args.threads)
    common = dict(dataset="mnist", data_dir=args.data_dir, architecture="conv4", embedding_dim=64, n_val_classes=0,
                  n_classes_per_batch=5, n_per_class=args.n_per_class, epochs=args.epochs,
                  batches_per_epoch=args.batches_per_epoch, seed=args.seed)
    split = prepare_classes(load_config(**common))
    rows = {}
    flat_train = split.fit.X.reshape(len(split.fit.X), -1)
    flat_test = split.test.X.reshape(len(split.test.X), -1)
    rows["euclidean (pixels)"] = {**retrieval_metrics(flat_test, split.test.labels, backend="exact").as_dict(), "train_seconds": 0.0}
    pca = PCA(50, random_state=args.seed).fit(flat_train)
    rows["euclidean (PCA-50)"] = {**retrieval_metrics(pca.transform(flat_test), split.test.labels, backend="exact").as_dict(), "train_seconds": 0.0}
    for name in args.methods.split(","):
        config = load_config(**{**common, **METHODS[name]})
        began = time.perf_counter()
        result = train(config, quiet=True, split=split)
        rows[name] = {**result.test.as_dict(), "train_seconds": time.perf_counter() - began,
                      "fit_seconds": sum(h["seconds"] for h in result.history), "history": result.history, "config": config.as_dict()}
        print(f"{name:20s} MAP@R {result.test.map_at_r:.4f}  P@1 {result.test.precision_at_1:.4f}  ({rows[name]['fit_seconds']:.0f} s)", flush=True)
    record = {"benchmark": "deep-quality", "dataset": "mnist", "train_classes": split.fit_classes, "test_classes": split.test_classes,
              "n_train": len(split.fit.labels), "n_test": len(split.test.labels), "seed": args.seed,
              "methods": rows, "provenance": provenance(), "finished": time.strftime("%Y-%m-%d %H:%M:%S")}
    print(result_text(write_results(args.out, "deep-quality", record), args.out), f"\nwrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
