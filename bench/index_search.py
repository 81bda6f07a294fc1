"""Searchable galleries: faiss indexes through metrickit.index against exact search and against raw faiss.

Two galleries. ``--gallery synthetic``: N x D embeddings from a seeded mixture of C Gaussian clusters (centres
N(0, I), points centre + spread x N(0, I)), plus 2,000 validation queries (tuning) and 10,000 test queries (reported),
drawn the same way and never indexed; the share of test queries whose exact top 10 spans more than one cluster is
measured and reported. ``--gallery mnist --model M``: M's embeddings of MNIST (the largest image set here): the 60,000
training images less 2,000 seeded validation queries form the gallery, the 10,000 test images are the test queries
(a normalising model's gallery is searched by inner product). For each kind (flat, hnsw, ivf, ivfpq): build seconds,
index bytes, the search effort tuned on the validation queries to recall@10 >= --target (ivfpq: the effort that
reaches it, or where its recall stops rising), then on the test queries recall@1 and recall@10 against exact search, queries per second
one at a time (the first 1,000; all of them for an index faster than 2,000 a second) and in batches of 1,000, and the same searches on the raw faiss index (metrickit's
overhead).

    python bench/index_search.py [--n 1000000] [--dim 128] [--clusters 10000] [--spread 1.25] [--threads 2]
    python bench/index_search.py --gallery mnist --model runs/index-mnist-model [--threads 2]
"""

from __future__ import annotations

import argparse
import math
import subprocess
import sys
import tempfile
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


def synthetic_gallery(args) -> dict:
    """The Gaussian-mixture gallery, validation and test queries; groups are the gallery points' clusters."""
    gallery, members = mixture(args.n, args.dim, args.clusters, args.spread, seed=1)
    return {"gallery": gallery, "groups": members, "validation": mixture(2_000, args.dim, args.clusters, args.spread, seed=2)[0],
            "test": mixture(args.queries, args.dim, args.clusters, args.spread, seed=3)[0],
            "description": {"source": "synthetic", "n": args.n, "dim": args.dim, "clusters": args.clusters, "spread": args.spread,
                            "normalized": False, "generator": "centres N(0, I) (seed 0), points centre + spread N(0, I) "
                                                              "(gallery seed 1, validation 2, test 3)"}}


def mnist_gallery(args) -> dict:
    """A trained model's embeddings of MNIST: training images less 2,000 seeded validation queries as the gallery, the
    test images as test queries; groups are the digits."""
    from metrickit._io import file_sha256
    from metrickit.datasets.mnist import load_mnist
    from metrickit.index.workflow import model_normalizes
    from metrickit.models.base import load_model
    from metrickit.runs import final_model

    model_path = final_model(args.model)
    model = load_model(model_path)
    normalized = model_normalizes(model)

    def embed(images: np.ndarray) -> np.ndarray:
        return np.concatenate([model.embed(images[start : start + 4_096]) for start in range(0, len(images), 4_096)]).astype(np.float32)

    train, train_labels = load_mnist("train", data_dir=args.data_dir)
    test, _ = load_mnist("test", data_dir=args.data_dir)
    train_embeddings, test_embeddings = embed(train), embed(test[: args.queries])
    held = np.zeros(len(train), dtype=bool)
    held[np.random.default_rng(0).choice(len(train), 2_000, replace=False)] = True
    return {"gallery": train_embeddings[~held], "groups": train_labels[~held], "validation": train_embeddings[held], "test": test_embeddings,
            "description": {"source": "mnist", "n": int((~held).sum()), "dim": int(train_embeddings.shape[1]), "normalized": normalized,
                            "model": {"path": str(model_path), "sha256": file_sha256(model_path), "name": model.name,
                                      "training_classes": [getattr(c, "item", lambda c=c: c)() for c in model.training_classes]},
                            "generator": "MNIST training images less 2,000 validation queries (seed 0); test queries: MNIST test images"}}


def timed_qps(search, queries: np.ndarray, batch: int, limit: int | None = None) -> float:
    chosen = queries[:limit] if limit else queries
    began = time.perf_counter()
    for start in range(0, len(chosen), batch):
        search(chosen[start : start + batch])
    return len(chosen) / (time.perf_counter() - began)


def paired_qps(ours, theirs, queries: np.ndarray, batch: int, limit: int | None, repeats: int) -> tuple[float, float]:
    """Queries per second of each search, interleaved block by block (``repeats`` passes over the queries in blocks of
    about 0.1-0.5 s, the order within a block alternating), so that load from elsewhere on a shared machine falls on both
    alike: whole rounds of several seconds one after the other let a noisy stretch land on one side (+28% and -6%
    "overheads" of one index in two runs)."""
    chosen = queries[:limit] if limit else queries
    starts = list(range(0, len(chosen), batch))
    per_block = max(1, len(starts) // 20)  # about 20 blocks a pass
    spent = [0.0, 0.0]
    for round_ in range(repeats):
        for b, first in enumerate(range(0, len(starts), per_block)):
            block = starts[first : first + per_block]
            for side in ((0, 1) if (b + round_) % 2 == 0 else (1, 0)):
                search = (ours, theirs)[side]
                began = time.perf_counter()
                for start in block:
                    search(chosen[start : start + batch])
                spent[side] += time.perf_counter() - began
    return repeats * len(chosen) / spent[0], repeats * len(chosen) / spent[1]


_PEAK_WRAPPER = """
import runpy, sys
try:
    sys.argv = sys.argv[1:]
    runpy.run_module(sys.argv[0], run_name="__main__", alter_sys=True)
finally:
    print([line.split()[1] for line in open("/proc/self/status") if line.startswith("VmHWM:")][0], file=sys.stderr)
"""


def peak_rss(module_and_arguments: list[str]) -> tuple[int, float]:
    """Peak resident memory (bytes, the process's own VmHWM: a forked child's ru_maxrss would include this process's
    peak) and seconds of ``python -m module arguments...`` in a child process; fails if the command does."""
    began = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", _PEAK_WRAPPER, *module_and_arguments], stdout=subprocess.DEVNULL,
                          stderr=subprocess.PIPE, text=True)
    if done.returncode:
        raise RuntimeError(f"{' '.join(module_and_arguments)} failed with exit code {done.returncode}: {done.stderr[-2000:]}")
    return int(done.stderr.split()[-1]) * 1024, time.perf_counter() - began


def streaming_builds(gallery: np.ndarray, kinds: list[str], threads: int, shards: int = 4) -> dict:
    """``metrickit index build`` from ``shards`` .npy files of the gallery, each kind in its own process: peak memory
    against the budget of the index's size + 1 GiB, beside the peak of the same command's imports alone."""
    with tempfile.TemporaryDirectory(prefix="index-stream-") as folder:
        files = []
        for part, rows in enumerate(np.array_split(np.arange(len(gallery)), shards)):
            files.append(str(Path(folder) / f"shard{part}.npy"))
            np.save(files[-1], gallery[rows[0] : rows[-1] + 1])
        base = ["metrickit", "index", "build", "--threads", str(threads), "--quiet"]
        imports, _ = peak_rss(base + ["--help"])
        rows = []
        for kind in kinds:
            out = Path(folder) / kind
            peak, seconds = peak_rss(base + ["--embeddings", *files, "--kind", kind, "--out", str(out)])
            size = (out / "index.faiss").stat().st_size
            rows.append({"kind": kind, "peak_rss_bytes": peak, "index_bytes": size, "budget_bytes": size + 2**30,
                         "within_budget": peak <= size + 2**30, "seconds": seconds})
            print(f"streaming build {kind}: {rows[-1]}", flush=True)
    return {"shards": shards, "gallery_bytes": int(gallery.nbytes), "imports_peak_rss_bytes": imports, "rows": rows}


def kind_spec(spec: str) -> tuple[str, dict[str, int]]:
    """'hnsw:hnsw_m=64:hnsw_ef_construction=200' -> ('hnsw', {'hnsw_m': 64, 'hnsw_ef_construction': 200})."""
    kind, *pairs = spec.split(":")
    return kind, {name: int(value) for name, value in (pair.split("=", 1) for pair in pairs)}


def main(argv=None) -> int:
    from metrickit._provenance import provenance
    from metrickit._threads import limit_threads
    from metrickit.index import EmbeddingIndex, exact_top_k, recall_at_k

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--gallery", choices=["synthetic", "mnist"], default="synthetic")
    parser.add_argument("--model", help="the model whose MNIST embeddings form the gallery (--gallery mnist)")
    parser.add_argument("--data-dir", help="root of the shared datasets (default: $METRICKIT_DATA, else ../shared/data)")
    parser.add_argument("--n", type=int, default=1_000_000)
    parser.add_argument("--dim", type=int, default=128)
    parser.add_argument("--clusters", type=int, default=10_000)
    parser.add_argument("--spread", type=float, default=1.25, help="cluster spread; 1.25 makes 25%% of exact top-10s cross clusters at the defaults")
    parser.add_argument("--queries", type=int, default=10_000)
    parser.add_argument("--kinds", default="flat,hnsw,ivf,ivfpq",
                        help="kinds, each with optional build settings: 'hnsw:hnsw_m=64:hnsw_ef_construction=200', 'ivf:nlist=16000' "
                             "('' for none: only the streaming builds)")
    parser.add_argument("--streaming-kinds", default="flat,ivfpq",
                        help="kinds also built by `metrickit index build` from .npy shards, peak memory measured ('' for none)")
    parser.add_argument("--target", type=float, default=0.95)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=3, help="timing passes, metrickit and raw faiss interleaved block by block")
    parser.add_argument("--min-seconds", type=float, default=5.0,
                        help="more passes until each side is timed for about this long (a fast index's 3 passes last a second)")
    parser.add_argument("--out", help="result JSON (default: bench/results/index-search[-mnist].json)")
    args = parser.parse_args(argv)
    if args.gallery == "mnist" and not args.model:
        parser.error("--gallery mnist needs --model (the model that embeds the images).")
    args.out = args.out or str(HERE / "results" / ("index-search-mnist.json" if args.gallery == "mnist" else "index-search.json"))
    limit_threads(args.threads)
    import faiss

    faiss.omp_set_num_threads(args.threads)
    data = mnist_gallery(args) if args.gallery == "mnist" else synthetic_gallery(args)
    gallery, validation, test, groups = data["gallery"], data["validation"], data["test"], data["groups"]
    normalized = data["description"]["normalized"]
    began = time.perf_counter()
    exact_test = exact_top_k(test, gallery, 10, inner_product=normalized)
    exact_seconds = time.perf_counter() - began
    exact_validation = exact_top_k(validation, gallery, 10, inner_product=normalized)
    crossing = float(np.mean([len(set(row)) > 1 for row in groups[exact_test]]))
    rows = []
    for spec in filter(None, args.kinds.split(",")):
        kind, settings = kind_spec(spec)
        began = time.perf_counter()
        index = EmbeddingIndex.build(gallery, kind=kind, normalized=normalized, **settings)
        build_seconds = time.perf_counter() - began
        tuned = index.tune(validation, gallery, target_recall=args.target, k=10, exact=exact_validation)
        found = index.search(test, 10)[1]
        raw = index.index
        row = {"kind": kind, "spec": spec, "factory": index.settings.factory, "parameters": index.settings.parameters, "build_seconds": build_seconds,
               "index_bytes": int(faiss.serialize_index(raw).nbytes), "effort": tuned["effort"], "effort_name": tuned["effort_name"],
               "validation_recall_at_10": tuned["recall_at_10"], "target_reached_on_validation": tuned["reached"], "tuning_stopped": tuned["stopped"], "tuning_tried": tuned["tried"],
               "recall_at_1": recall_at_k(found, exact_test, 1), "recall_at_10": recall_at_k(found, exact_test, 10)}
        for batch, limit in ((1, 1_000), (1_000, None)):
            probe = timed_qps(lambda q: index.search(q, 10), test, batch, limit)
            if batch == 1 and probe > 2_000:
                limit = None  # fast one at a time: every test query, so that each timing round lasts seconds, not noise
            passes = max(args.repeats, math.ceil(args.min_seconds * probe / len(test[:limit] if limit else test)))
            ours, theirs = paired_qps(lambda q: index.search(q, 10), lambda q: raw.search(q, 10), test, batch, limit, passes)
            row[f"qps_batch_{batch}"], row[f"raw_faiss_qps_batch_{batch}"] = ours, theirs
            row[f"overhead_batch_{batch}"], row[f"timing_passes_batch_{batch}"] = theirs / ours - 1, passes
        rows.append(row)
        print(f"{kind}: {row}", flush=True)
    streaming = streaming_builds(gallery, args.streaming_kinds.split(","), args.threads) if args.streaming_kinds else None
    flat = next((r for r in rows if r["kind"] == "flat"), None)
    for row in rows:
        if flat is not None:
            row["speedup_vs_flat_batch_1"] = row["qps_batch_1"] / flat["qps_batch_1"]
            row["speedup_vs_flat_batch_1000"] = row["qps_batch_1000"] / flat["qps_batch_1000"]
            row["memory_vs_flat"] = row["index_bytes"] / flat["index_bytes"]
    record = {"benchmark": "index-search", "gallery": data["description"],
              "queries": {"validation": len(validation), "test": len(test)}, "target": args.target, "threads": args.threads, "timing_repeats": args.repeats,
              "top10_crossing_groups": crossing, "streaming_builds": streaming, "exact_seconds": exact_seconds, "rows": rows, "provenance": provenance(),
              "finished": time.strftime("%Y-%m-%d %H:%M:%S")}
    publish(args.out, "index-search", record)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
