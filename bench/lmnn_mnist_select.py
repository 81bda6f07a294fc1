"""Choose the PCA dimension for MNIST LMNN on validation data only (never the test set).

Trains on the first 50,000 training images and scores 3-NN error on the last 10,000 (the usual MNIST validation
split), for Euclidean distance and metrickit's LMNN on PCA-K features fitted on the 50,000. Writes
bench/results/lmnn-mnist-select.json; bench/lmnn.py --pca K then runs the test protocol with the chosen K.

    python bench/lmnn_mnist_select.py --pca 50,100,164
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path


HERE = Path(__file__).resolve().parent


def main(argv=None) -> int:
    from metrickit.reporting import result_text
    from metrickit.runs import write_results
    from metrickit._provenance import provenance
    from metrickit.datasets import load_mnist
    from metrickit.linear import LMNN
    from metrickit.linear.features import fit_feature_transform
    from metrickit.linear.workflow import knn_error

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pca", default="50,100,164")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default=str(HERE / "results" / "lmnn-mnist-select.json"))
    args = parser.parse_args(argv)
    X, y = load_mnist("train")
    X = X / 255.0
    X_fit, y_fit, X_val, y_val = X[:50000], y[:50000], X[50000:], y[50000:]
    rows = []
    for k in (int(v) for v in args.pca.split(",")):
        prep = fit_feature_transform(X_fit, pca=k)
        P_fit, P_val = prep(X_fit), prep(X_val)
        start = time.perf_counter()
        lmnn = LMNN(random_state=args.seed).fit(P_fit, y_fit)
        seconds = time.perf_counter() - start
        row = {
            "pca": k,
            "euclidean_val_error": knn_error(P_fit, y_fit, P_val, y_val, 3),
            "lmnn_val_error": knn_error(lmnn.transform(P_fit), y_fit, lmnn.transform(P_val), y_val, 3),
            "fit_seconds": seconds,
            "n_iter": lmnn.n_iter_,
            "objective": lmnn.objective_,
        }
        rows.append(row)
        print(row, flush=True)
    best = min(rows, key=lambda r: r["lmnn_val_error"])
    record = {"benchmark": "lmnn-mnist-select", "split": "train[:50000] / validation train[50000:]", "rows": rows,
              "selected_pca": best["pca"], "provenance": provenance()}
    print(result_text(write_results(args.out, "lmnn-mnist-select", record), args.out))
    print(f"selected PCA-{best['pca']} (validation 3-NN error {best['lmnn_val_error']:.4f}); wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
