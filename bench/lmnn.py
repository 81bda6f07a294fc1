"""LMNN benchmark: metrickit vs scikit-learn's NCA, metric-learn and pylmnn, on the same data and splits.

Each method is fitted in its own subprocess with a time and an address-space limit. Peers run in a
separate venv with the old pins they need (made by this script). For every fit we record: fit time,
peak memory (max RSS increase in the worker), 3-NN test error, and the exact LMNN objective of the
returned L on the same target neighbours (metrickit.linear.lmnn_objective).

    python bench/lmnn.py --datasets iris,wine,digits --splits 10
    python bench/lmnn.py --datasets mnist --mnist-sizes 2000,10000,60000 --peers pylmnn
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from _limits import run_limited

HERE = Path(__file__).resolve().parent
PEERS_VENV = HERE / ".venv-peers"
PEER_PINS = ["numpy==1.26.4", "scipy==1.10.1", "scikit-learn==1.5.2", "six", "metric-learn==0.7.0", "pylmnn==1.6.4"]
PEER_METHODS = ("metric-learn", "pylmnn")


def ensure_peer_venv() -> Path:
    """Create bench/.venv-peers with the peers' pins (once) and return its python."""
    python = PEERS_VENV / "bin" / "python"
    if not python.exists():
        subprocess.run([sys.executable.replace("python", "python"), "-m", "venv", str(PEERS_VENV)], check=True)
        subprocess.run([str(python), "-m", "pip", "install", "-q", "-c", str(HERE.parent / "constraints.txt"), *PEER_PINS], check=True)
    return python


def run_worker(method: str, data: Path, seed: int, threads: int, timeout: float, mem_gb: float) -> dict:
    """Fit ``method`` in a subprocess; returns its record, or {'status': 'timeout'|'failed'}."""
    python = str(ensure_peer_venv()) if method in PEER_METHODS else sys.executable
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "out.npz"
        cmd = [python, str(HERE / "_lmnn_worker.py"), method, str(data), str(out), "--seed", str(seed), "--threads", str(threads)]
        status = run_limited(cmd, out, timeout, mem_gb)
        if status is not None:
            return {"status": status}
        with np.load(out) as result:
            return {
                "status": "ok",
                "components": result["components"],
                "fit_seconds": float(result["fit_seconds"]),
                "n_iter": int(result["n_iter"]),
                "peak_rss_mib": float(result["peak_rss_mib"]),
            }


def prepare(dataset: str, seed: int, n_train: int | None, pca: int) -> tuple[dict, dict]:
    """Features for one split, identical for every method, and a description of how they were made."""
    from sklearn.preprocessing import StandardScaler

    from metrickit.datasets import load_split
    from metrickit.linear.features import fit_feature_transform

    if dataset == "mnist":
        split = load_split(data="mnist", n_train=n_train, seed=seed)
        prep = fit_feature_transform(split.X_train, pca=pca)
        arrays = {"X_train": prep(split.X_train), "y_train": split.y_train, "X_test": prep(split.X_test), "y_test": split.y_test}
        info = {**split.info, "features": f"pixels/255, PCA-{pca} fitted on the training set"}
    else:
        split = load_split(data=dataset, test_size=0.3, seed=seed)
        X_train, X_test = split.X_train, split.X_test
        if dataset in ("iris", "wine"):
            scaler = StandardScaler().fit(X_train)
            X_train, X_test = scaler.transform(X_train), scaler.transform(X_test)
        arrays = {"X_train": X_train, "y_train": split.y_train, "X_test": X_test, "y_test": split.y_test}
        info = {**split.info, "features": "StandardScaler fitted on the training set" if dataset in ("iris", "wine") else "raw"}
    return arrays, info


def evaluate(arrays: dict, L: np.ndarray) -> dict:
    from metrickit.linear import lmnn_objective
    from metrickit.linear.workflow import knn_error

    Ztr, Zte = arrays["X_train"] @ L.T, arrays["X_test"] @ L.T
    return {
        "test_error": knn_error(Ztr, arrays["y_train"], Zte, arrays["y_test"], 3),
        "objective": lmnn_objective(arrays["X_train"], arrays["y_train"], L=L, n_neighbors=3),
    }


def main(argv=None) -> int:
    from metrickit.reporting import result_text
    from metrickit._provenance import provenance
    from metrickit._threads import limit_threads
    from metrickit.runs import write_results

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--datasets", default="iris,wine,digits")
    parser.add_argument("--methods", default="euclidean,nca,metric-learn,pylmnn,metrickit")
    parser.add_argument("--splits", type=int, default=10, help="seeded stratified 70/30 splits (small sets)")
    parser.add_argument("--repeats", type=int, default=3, help="timing repeats on split 0, where a fit takes >= 2 s")
    parser.add_argument("--mnist-sizes", default="2000,10000")
    parser.add_argument("--pca", type=int, default=50)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--timeout", type=float, default=600.0, help="seconds per fit")
    parser.add_argument("--mem-gb", type=float, default=16.0, help="address-space limit per fit")
    parser.add_argument("--out", default=str(HERE / "results"))
    args = parser.parse_args(argv)
    limit_threads(args.threads)  # the workers get the same count
    methods = args.methods.split(",")
    failed_at: dict[str, str] = {}  # MNIST: a method that failed at a smaller size is not run at larger ones
    for dataset in args.datasets.split(","):
        configs = [(dataset, None, s) for s in range(args.splits)] if dataset != "mnist" else [
            ("mnist", int(n) if int(n) < 60000 else None, 0) for n in args.mnist_sizes.split(",")]
        for name, n_train, _ in {(c[0], c[1]) : c for c in configs}.values():
            seeds = range(args.splits) if name != "mnist" else [0]
            record = {"benchmark": "lmnn", "dataset": name, "n_train": n_train, "methods": {}, "splits": [],
                      "timeout_s": args.timeout, "mem_limit_gb": args.mem_gb,
                      "provenance": provenance(), "started": time.strftime("%Y-%m-%d %H:%M:%S")}
            dead: set[str] = set()
            for method, reason in failed_at.items():
                record["methods"][method] = {"per_split": [{"seed": 0, "status": f"not run: {reason}"}]}
                dead.add(method)
            for seed in seeds:
                arrays, info = prepare(name, seed, n_train, args.pca)
                record["splits"].append({"seed": seed, **info, "n_train": len(arrays["y_train"]), "n_test": len(arrays["y_test"])})
                with tempfile.TemporaryDirectory() as tmp:
                    data = Path(tmp) / "data.npz"
                    np.savez(data, **arrays)
                    for method in methods:
                        if method in dead:
                            continue
                        runs = [run_worker(method, data, seed, args.threads, args.timeout, args.mem_gb)]
                        if runs[0]["status"] == "ok" and seed == seeds[0] and runs[0]["fit_seconds"] >= 2.0:
                            runs += [run_worker(method, data, seed, args.threads, args.timeout, args.mem_gb) for _ in range(args.repeats - 1)]
                        entry = record["methods"].setdefault(method, {"per_split": []})
                        first = runs[0]
                        if first["status"] != "ok":
                            entry["per_split"].append({"seed": seed, "status": first["status"]})
                            dead.add(method)  # later splits would fail the same way
                            if name == "mnist":
                                failed_at[method] = f"{first['status']} at n_train={len(arrays['y_train'])}"
                            print(f"{name} n={n_train} seed={seed} {method}: {first['status']}", flush=True)
                            continue
                        times = [r["fit_seconds"] for r in runs if r["status"] == "ok"]
                        result = {"seed": seed, "status": "ok", "fit_seconds": times[0], "fit_seconds_repeats": times,
                                  "peak_rss_mib": first["peak_rss_mib"], "n_iter": first["n_iter"], **evaluate(arrays, first["components"])}
                        entry["per_split"].append(result)
                        print(f"{name} n={n_train} seed={seed} {method}: error {result['test_error']:.4f} "
                              f"objective {result['objective']:.6g} fit {np.median(times):.2f}s", flush=True)
            suffix = f"-{n_train or 60000}-pca{args.pca}" if name == "mnist" else ""
            path = Path(args.out) / f"lmnn-{name}{suffix}.json"
            record["finished"] = time.strftime("%Y-%m-%d %H:%M:%S")
            print(result_text(write_results(path, "lmnn", record), path))
            print(f"wrote {path}", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
