"""Speed and memory of losses and miners, metrickit vs pytorch-metric-learning, per training step.

Every cell (implementation x method x batch size x label layout) runs in fresh subprocesses with a
time and an address-space limit, --rounds times per implementation, alternating (ours, PML, ours, ...): forward +
backward on random embeddings (dim 128), 3 warm-ups, median of 10 steps, then the median over rounds (2-thread timings
here vary by up to ~30% between processes); peak memory is the max RSS increase over the post-import baseline. Label
layouts: B/4 classes x 4 samples (P x K batches) and 10 classes; NT-Xent's labels are views (B/2 images, two views
each). Losses with class vectors (ArcFace, CosFace, sub-center ArcFace with 3 sub-centres, Proxy-Anchor) start from the
same vectors in both and the step includes their gradient. Where both implement the same formula, the first step's
losses must agree (recorded per cell). The contrastive row runs PML's ``ContrastiveLoss`` on ``LpDistance(power=1)``
over the same pairs, whose form (``d`` and ``relu(m - d)``) is not the squared one (Hadsell et al.) that metrickit
computes: its speed and memory compare, its loss does not. The xbm-contrastive row adds a cross-batch memory of 8,192
embeddings (filled during the warm-up): metrickit's objective scores the batch's pairs and the batch against the memory,
PML's ``CrossBatchMemory`` enqueues the batch and scores it against the whole memory.

    python bench/deep_speed.py [--batches 128,256,512,1024] [--threads 1,2] [--rounds 3] [--timeout 300]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

from _limits import run_limited

HERE = Path(__file__).resolve().parent
NEW_LOSSES = ("arcface", "cosface", "subcenter-arcface", "proxy-anchor", "multi-similarity", "supcon", "ntxent")
METHODS = ("batch-all", "semihard-band", "batch-hard", "semihard-facenet", "contrastive", *NEW_LOSSES, "xbm-contrastive")
PML_PEERS = set(METHODS) - {"semihard-facenet"}  # PML has no FaceNet/TF-Addons semi-hard rule
SAME_FORMULA = {"batch-all", "semihard-band", "batch-hard", *NEW_LOSSES}  # PML's contrastive loss is unsquared: the same pairs, another formula


def run_cell(impl, method, batch, n_classes, dim, threads, timeout, mem_gb) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "cell.json"
        cmd = [sys.executable, str(HERE / "_deep_speed_worker.py"), impl, method, str(batch), str(n_classes), str(dim), str(threads), str(out)]
        status = run_limited(cmd, out, timeout, mem_gb)
        return {"status": status} if status is not None else {"status": "ok", **json.loads(out.read_text())}


def _combined(runs: list[dict]) -> dict:
    """One implementation's rounds as one result: the median of the rounds' median step times and added memory (the
    first failure, if any round failed), with every round's time kept."""
    failed = [r for r in runs if r["status"] != "ok"]
    if failed:
        return failed[0]
    middle = lambda values: sorted(values)[len(values) // 2]  # noqa: E731
    return {**runs[0], "median_seconds": middle([r["median_seconds"] for r in runs]),
            "peak_rss_increase_mib": middle([r["peak_rss_increase_mib"] for r in runs]),
            "round_seconds": [r["median_seconds"] for r in runs]}


def _cell(method: str, batch: int, layout: str, n_classes: int, threads: int, args) -> dict:
    """Both implementations (where PML has one) of one method at one batch size, label layout and thread count."""
    impls = ["metrickit", "pml"] if method in PML_PEERS else ["metrickit"]
    rounds: dict[str, list[dict]] = {impl: [] for impl in impls}
    for _ in range(args.rounds):  # alternating fresh processes, so a slow spell of the machine hits both
        for impl in impls:
            rounds[impl].append(run_cell(impl, method, batch, n_classes, args.dim, threads, args.timeout, args.mem_gb))
    results = {impl: _combined(runs) for impl, runs in rounds.items()}
    cell = {"method": method, "batch": batch, "layout": layout, "n_classes": n_classes, "threads": threads, "results": results}
    ours, theirs = results["metrickit"], results.get("pml")
    if theirs and ours["status"] == "ok" and theirs["status"] == "ok":
        if method in SAME_FORMULA:
            cell["loss_difference"] = abs(ours["loss"] - theirs["loss"])
        cell["speedup"] = theirs["median_seconds"] / ours["median_seconds"]
        cell["memory_ratio"] = theirs["peak_rss_increase_mib"] / max(ours["peak_rss_increase_mib"], 1.0)
    summary = "  ".join(f"{impl}: " + (f"{r['median_seconds'] * 1e3:.1f} ms, +{r['peak_rss_increase_mib']:.0f} MiB" if r["status"] == "ok"
                                       else r["status"]) for impl, r in results.items())
    print(f"{threads} thread(s) B={batch:5d} {layout:16s} {method:17s} {summary}", flush=True)
    return cell


def main(argv=None) -> int:
    from metrickit.reporting import result_text
    from metrickit.runs import write_results
    from metrickit._provenance import provenance
    from metrickit._threads import limit_threads

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--batches", default="128,256,512,1024")
    parser.add_argument("--methods", default=",".join(METHODS))
    parser.add_argument("--dim", type=int, default=128)
    parser.add_argument("--threads", default="2", help="thread counts, comma-separated (each cell runs at each)")
    parser.add_argument("--rounds", type=int, default=3, help="fresh processes per implementation and cell, alternating; the median counts")
    parser.add_argument("--timeout", type=float, default=300.0, help="seconds per cell")
    parser.add_argument("--mem-gb", type=float, default=16.0, help="address-space limit per cell")
    parser.add_argument("--out", default=str(HERE / "results" / "deep-speed.json"))
    args = parser.parse_args(argv)
    threads = [int(t) for t in args.threads.split(",")]
    limit_threads(max(threads))  # the parent only waits; each cell sets its own count
    cells = []
    for n_threads in threads:
        for batch in map(int, args.batches.split(",")):
            for layout, n_classes in (("B/4 classes x 4", batch // 4), ("10 classes", 10), ("views", batch // 2)):
                for method in args.methods.split(","):
                    if (method == "ntxent") == (layout == "views"):  # NT-Xent's labels are the views of each image
                        cells.append(_cell(method, batch, layout, n_classes, n_threads, args))
    record = {"benchmark": "deep-speed", "dim": args.dim, "threads": threads, "rounds": args.rounds, "timeout_s": args.timeout, "mem_limit_gb": args.mem_gb,
              "cells": cells, "provenance": provenance(),
              "finished": time.strftime("%Y-%m-%d %H:%M:%S")}
    print(result_text(write_results(args.out, "deep-speed", record), args.out))
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
