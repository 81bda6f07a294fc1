"""One cell of the deep speed benchmark, run in a fresh process: forward + backward of one loss/miner.

    python bench/_deep_speed_worker.py IMPL METHOD BATCH N_CLASSES DIM THREADS OUT.json

Timing: 3 warm-up steps, then the median of 10. Memory: max RSS increase over the baseline taken
after imports and input creation.
"""

from __future__ import annotations

import json
import resource
import sys
import time


def _rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def build(impl: str, method: str, margin: float):
    """A function (embeddings, labels) -> loss for ``impl`` in {'metrickit', 'pml'}."""
    if impl == "metrickit":
        from metrickit.losses import ContrastiveLoss, TripletMarginLoss
        from metrickit.miners import BatchHardMiner, SemiHardMiner

        if method == "batch-all":
            loss = TripletMarginLoss(margin, triplets="all")
            return lambda e, y: loss(e, y)
        if method == "semihard-band":
            loss = TripletMarginLoss(margin, triplets="semihard")
            return lambda e, y: loss(e, y)
        if method == "batch-hard":
            loss, miner = TripletMarginLoss(margin), BatchHardMiner()
            return lambda e, y: loss(e, indices=miner(e, y))
        if method == "semihard-facenet":
            loss, miner = TripletMarginLoss(margin), SemiHardMiner(margin, variant="facenet")
            return lambda e, y: loss(e, indices=miner(e, y))
        if method == "contrastive":
            loss = ContrastiveLoss(1.0)
            return lambda e, y: loss(e, y)
    else:
        from pytorch_metric_learning import distances, losses, miners, reducers

        if method == "contrastive":  # the same pairs; PML's form is d and relu(m - d), not squared
            plain = distances.LpDistance(normalize_embeddings=False, power=1)
            loss = losses.ContrastiveLoss(pos_margin=0.0, neg_margin=1.0, distance=plain, reducer=reducers.AvgNonZeroReducer())
            return lambda e, y: loss(e, y)
        squared = distances.LpDistance(normalize_embeddings=False, power=2)
        loss = losses.TripletMarginLoss(margin=margin, distance=squared, reducer=reducers.AvgNonZeroReducer())
        if method == "batch-all":
            return lambda e, y: loss(e, y)
        if method == "semihard-band":
            miner = miners.TripletMarginMiner(margin=margin, type_of_triplets="semihard", distance=squared)
            return lambda e, y: loss(e, y, miner(e, y))
        if method == "batch-hard":
            miner = miners.BatchHardMiner(distance=squared)
            return lambda e, y: loss(e, y, miner(e, y))
    raise SystemExit(f"no {impl} implementation of {method}")


def main() -> None:
    impl, method, batch, n_classes, dim, threads, out = sys.argv[1:8]
    batch, n_classes, dim, threads = int(batch), int(n_classes), int(dim), int(threads)
    import torch

    torch.set_num_threads(threads)
    g = torch.Generator().manual_seed(0)
    base = torch.randn(batch, dim, generator=g) * 0.1
    labels = torch.arange(batch) % n_classes
    step = build(impl, method, margin=0.2)
    baseline = _rss_mib()
    times, value = [], None
    for i in range(13):
        embeddings = base.clone().requires_grad_(True)
        began = time.perf_counter()
        loss = step(embeddings, labels)
        loss.backward()
        elapsed = time.perf_counter() - began
        if i == 0:
            value = float(loss.detach())
        if i >= 3:
            times.append(elapsed)
    times.sort()
    record = {"impl": impl, "method": method, "batch": batch, "n_classes": n_classes, "dim": dim, "threads": threads,
              "median_seconds": times[len(times) // 2], "loss": value, "peak_rss_increase_mib": _rss_mib() - baseline}
    with open(out, "w") as fh:
        json.dump(record, fh)


if __name__ == "__main__":
    main()
