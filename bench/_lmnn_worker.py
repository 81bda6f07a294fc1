"""Fit one metric learner on one training set, in its own process (any venv), and save L.

Usage: python _lmnn_worker.py METHOD DATA.npz OUT.npz --seed S --threads T
METHOD: euclidean | metrickit | nca | metric-learn | pylmnn. Reads X_train, y_train from DATA.npz and
writes components (L), fit_seconds, n_iter and peak_rss_mib (max RSS increase over the post-import baseline).
"""

import os
import sys

THREADS = sys.argv[sys.argv.index("--threads") + 1] if "--threads" in sys.argv else "1"
for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[var] = THREADS

import resource  # noqa: E402
import time  # noqa: E402
import types  # noqa: E402
import warnings  # noqa: E402

import numpy as np  # noqa: E402


def _maxrss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def _build(method: str, seed: int):
    if method == "metrickit":
        from metrickit.linear import LMNN

        return LMNN(n_neighbors=3, random_state=seed)
    if method == "nca":
        from sklearn.neighbors import NeighborhoodComponentsAnalysis

        return NeighborhoodComponentsAnalysis(random_state=seed)
    if method == "metric-learn":
        from metric_learn import LMNN

        return LMNN(n_neighbors=3, random_state=seed)
    if method == "pylmnn":
        # pylmnn's package __init__ imports GPyOpt for its optional Bayesian search only.
        gpyopt, methods = types.ModuleType("GPyOpt"), types.ModuleType("GPyOpt.methods")
        methods.BayesianOptimization = None
        gpyopt.methods = methods
        sys.modules.setdefault("GPyOpt", gpyopt)
        sys.modules.setdefault("GPyOpt.methods", methods)
        from pylmnn.lmnn import LargeMarginNearestNeighbor

        return LargeMarginNearestNeighbor(n_neighbors=3, random_state=seed)
    raise SystemExit(f"unknown method {method!r}")


def main() -> None:
    method, data_path, out_path = sys.argv[1:4]
    seed = int(sys.argv[sys.argv.index("--seed") + 1])
    with np.load(data_path) as data:
        X, y = data["X_train"], data["y_train"]
    if method == "euclidean":
        np.savez(out_path, components=np.eye(X.shape[1]), fit_seconds=0.0, n_iter=0, peak_rss_mib=0.0)
        return
    model = _build(method, seed)
    baseline = _maxrss_mib()
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model.fit(X, y)
    seconds = time.perf_counter() - start
    L = model.components_ if hasattr(model, "components_") else model.transformer_
    n_iter = getattr(model, "n_iter_", -1)
    np.savez(out_path, components=np.asarray(L, dtype=np.float64), fit_seconds=seconds, n_iter=n_iter,
             peak_rss_mib=_maxrss_mib() - baseline)


if __name__ == "__main__":
    main()
