"""Training on 1 vs 2 processes (torchrun, gloo, 1 thread each): steps per second, scaling efficiency and bytes sent per
step, metrickit against pytorch-metric-learning's DistributedLossWrapper + DistributedMinerWrapper in the same run, and
how far each is from one process on the same global batch.

Model: conv-4 (64 filters, 64-d, BatchNorm reduced over the ranks for both implementations, since torch's SyncBatchNorm
runs on CUDA only), MNIST training images in P x K global batches of 8 digits (256 = 8 x 32, 1024 = 8 x 128), SGD.
Timing (float32): semi-hard band triplets (margin 0.2, squared distances), 3 warm-up steps then the median step,
every cell in fresh processes under a time and an address-space limit, ``--rounds`` rounds alternating between the
implementations, the median over rounds; efficiency = t(1 process) / (2 x t(2 processes)). Bytes sent per step per rank
are counted at the collectives as a ring algorithm sends them (all_gather: (N - 1) x the part; all_reduce, DDP's
gradients included: 2 (N - 1) / N x the tensor). Check (float64, so that rounding flips no mined triplet): after one
step on 2 processes, the reported loss and the gradients (model after DDP's average; the class vectors of ArcFace) as a
ratio or relative difference to one process on the same global batch from the same weights.

    python bench/ddp_scaling.py [--batches 256,1024] [--steps 10] [--rounds 3] [--timeout 600]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

from _limits import run_limited
from _publish import publish

HERE = Path(__file__).resolve().parent
IMPLS = ("metrickit", "pml")


def run_cell(mode: str, impl: str, loss: str, batch: int, processes: int, steps: int, timeout: float, mem_gb: float) -> dict:
    """One worker run (1 process, or torchrun with ``processes``); its JSON, or its failure."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "cell.json"
        worker = [str(HERE / "_ddp_worker.py"), mode, impl, loss, str(batch), str(steps), str(out)]
        launch = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node", str(processes)] if processes > 1 else [sys.executable]
        status = run_limited([*launch, *worker], out, timeout, mem_gb)  # the address-space limit applies to each process
        return {"status": status} if status is not None else {"status": "ok", **json.loads(out.read_text())}


def _median(runs: list[dict]) -> dict:
    failed = [r for r in runs if r["status"] != "ok"]
    if failed:
        return failed[0]
    rounds = [r["median_step_seconds"] for r in runs]
    return {**runs[0], "median_step_seconds": statistics.median(rounds), "round_seconds": rounds}


def main(argv=None) -> int:
    from metrickit._provenance import provenance
    from metrickit._threads import limit_threads

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--batches", default="256,1024")
    parser.add_argument("--steps", type=int, default=10, help="timed steps per cell (after 3 warm-ups)")
    parser.add_argument("--rounds", type=int, default=3, help="fresh runs per implementation and cell, alternating; the median counts")
    parser.add_argument("--timeout", type=float, default=600.0, help="seconds per cell")
    parser.add_argument("--mem-gb", type=float, default=10.0, help="address-space limit per process")
    parser.add_argument("--out", default=str(HERE / "results" / "ddp-scaling.json"))
    args = parser.parse_args(argv)
    limit_threads(1)  # the parent only waits
    timing, checks = [], []
    for batch in map(int, args.batches.split(",")):
        runs = {(impl, n): [] for impl in IMPLS for n in (1, 2)}
        for _ in range(args.rounds):
            for n in (1, 2):
                for impl in IMPLS:
                    runs[impl, n].append(run_cell("time", impl, "triplet", batch, n, args.steps, args.timeout, args.mem_gb))
                    print(f"batch {batch}, {n} process(es), {impl}: {runs[impl, n][-1].get('median_step_seconds', runs[impl, n][-1]['status'])}",
                          flush=True)
        for impl in IMPLS:
            one, two = _median(runs[impl, 1]), _median(runs[impl, 2])
            row = {"impl": impl, "global_batch": batch, "one": one, "two": two}
            if one["status"] == two["status"] == "ok":
                row.update(speedup=one["median_step_seconds"] / two["median_step_seconds"],
                           efficiency=one["median_step_seconds"] / (2 * two["median_step_seconds"]),
                           steps_per_second=[1 / one["median_step_seconds"], 1 / two["median_step_seconds"]],
                           bytes_sent_per_step=two["bytes_sent_per_step"])
            timing.append(row)
        for loss in ("triplet", "arcface"):
            for impl in IMPLS:
                checks.append(run_cell("check", impl, loss, batch, 2, 1, args.timeout, args.mem_gb))
    record = {"benchmark": "ddp-scaling", "model": "conv-4 (64 filters, 64-d), MNIST 28 x 28, SGD", "steps": args.steps,
              "rounds": args.rounds, "timeout_s": args.timeout, "mem_limit_gb_per_process": args.mem_gb, "threads_per_process": 1,
              "timing": timing, "checks": checks, "provenance": provenance(), "finished": time.strftime("%Y-%m-%d %H:%M:%S")}
    publish(args.out, "ddp-scaling", record)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
