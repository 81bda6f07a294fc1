"""Searchable galleries: faiss indexes through metrickit.index against exact search and against raw faiss.

Gallery: N x D embeddings from a seeded mixture of C Gaussian clusters (centres N(0, I), points centre + spread x
N(0, I)), plus 2,000 validation queries (tuning) and 10,000 test queries (reported), drawn the same way and never
indexed. The spread is stated and the share of test queries whose exact top 10 spans more than one cluster is
measured and reported. For each kind (flat, hnsw, ivf, ivfpq): build seconds, index bytes, the search effort tuned on
the validation queries to recall@10 >= --target (ivfpq: the effort that reaches it, or its best), then on the test
queries recall@1 and recall@10 against exact search, queries per second one at a time (the first 1,000) and in
batches of 1,000, and the same searches on the raw faiss index (metrickit's overhead).

    python bench/index_search.py [--n 1000000] [--dim 128] [--clusters 10000] [--spread 0.5] [--threads 2]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

from _publish import publish

HERE = Path(__file__).resolve().parent


def mixture(n: int, dim: int, clusters: int, spread: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """``n`` points of a Gaussian mixture (float32) and their cluster ids; the centres come from ``seed`` 0 always."""
    centres = np.random.default_rng(0).normal(size=(clusters, dim)).astype(np.float32)
    rng = np.random.default_rng(seed)
    members = rng.integers(clusters, size=n)
    points = np.empty((n, dim), dtype=np.float32)
    for start in range(0, n, 100_000):  # blocks: no float64 copy of the whole gallery
        block = members[start : start + 100_000]
        points[start : start + len(block)] = centres[block] + spread * rng.standard_normal((len(block), dim), dtype=np.float32)
    return points, members


def timed_qps(search, queries: np.ndarray, batch: int, limit: int | None = None) -> float:
    chosen = queries[:limit] if limit else queries
    began = time.perf_counter()
    for start in range(0, len(chosen), batch):
        search(chosen[start : start + batch])
    return len(chosen) / (time.perf_counter() - began)


def main(argv=None) -> int:
    from metrickit._provenance import provenance
    from metrickit._threads import limit_threads
    from metrickit.index import EmbeddingIndex, exact_top_k, recall_at_k

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=1_000_000)
    parser.add_argument("--dim", type=int, default=128)
    parser.add_argument("--clusters", type=int, default=10_000)
    parser.add_argument("--spread", type=float, default=0.5)
    parser.add_argument("--queries", type=int, default=10_000)
    parser.add_argument("--kinds", default="flat,hnsw,ivf,ivfpq")
    parser.add_argument("--target", type=float, default=0.95)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--out", default=str(HERE / "results" / "index-search.json"))
    args = parser.parse_args(argv)
    limit_threads(args.threads)
    import faiss

    faiss.omp_set_num_threads(args.threads)
    gallery, members = mixture(args.n, args.dim, args.clusters, args.spread, seed=1)
    validation, _ = mixture(2_000, args.dim, args.clusters, args.spread, seed=2)
    test, _ = mixture(args.queries, args.dim, args.clusters, args.spread, seed=3)
    began = time.perf_counter()
    exact_test = exact_top_k(test, gallery, 10)
    exact_seconds = time.perf_counter() - began
    crossing = float(np.mean([len(set(members[row])) > 1 for row in exact_test]))
    rows = []
    for kind in args.kinds.split(","):
        began = time.perf_counter()
        index = EmbeddingIndex.build(gallery, kind=kind)
        build_seconds = time.perf_counter() - began
        tuned = index.tune(validation, gallery, target_recall=args.target, k=10)
        found = index.search(test, 10)[1]
        raw = index.index
        row = {"kind": kind, "factory": index.settings.factory, "parameters": index.settings.parameters, "build_seconds": build_seconds,
               "index_bytes": int(faiss.serialize_index(raw).nbytes), "effort": tuned["effort"], "effort_name": tuned["effort_name"],
               "validation_recall_at_10": tuned["recall_at_10"], "target_reached_on_validation": tuned["reached"],
               "recall_at_1": recall_at_k(found, exact_test, 1), "recall_at_10": recall_at_k(found, exact_test, 10)}
        for batch, limit in ((1, 1_000), (1_000, None)):
            ours = timed_qps(lambda q: index.search(q, 10), test, batch, limit)
            theirs = timed_qps(lambda q: raw.search(q, 10), test, batch, limit)
            row[f"qps_batch_{batch}"], row[f"raw_faiss_qps_batch_{batch}"] = ours, theirs
            row[f"overhead_batch_{batch}"] = theirs / ours - 1
        rows.append(row)
        print(f"{kind}: {row}", flush=True)
    flat = next((r for r in rows if r["kind"] == "flat"), None)
    for row in rows:
        if flat is not None:
            row["speedup_vs_flat_batch_1"] = row["qps_batch_1"] / flat["qps_batch_1"]
            row["speedup_vs_flat_batch_1000"] = row["qps_batch_1000"] / flat["qps_batch_1000"]
            row["memory_vs_flat"] = row["index_bytes"] / flat["index_bytes"]
    record = {"benchmark": "index-search", "gallery": {"n": args.n, "dim": args.dim, "clusters": args.clusters, "spread": args.spread,
              "generator": "centres N(0, I) (seed 0), points centre + spread N(0, I) (gallery seed 1, validation 2, test 3)"},
              "queries": {"validation": 2_000, "test": args.queries}, "target": args.target, "threads": args.threads,
              "top10_crossing_clusters": crossing, "exact_seconds": exact_seconds, "rows": rows, "provenance": provenance(),
              "finished": time.strftime("%Y-%m-%d %H:%M:%S")}
    publish(args.out, "index-search", record)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
