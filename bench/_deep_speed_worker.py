"""One cell of the deep speed benchmark, run in a fresh process: forward + backward of one loss/miner.

    python bench/_deep_speed_worker.py IMPL METHOD BATCH N_CLASSES DIM THREADS OUT.json

Timing: 3 warm-up steps (for a cross-batch memory, also enough steps to fill it), then the median of 10. Memory: max RSS
increase over the baseline taken after imports, the loss's construction (head, memory) and input creation.
"""

from __future__ import annotations

import json
import math
import resource
import sys
import time


def _rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


XBM_SIZE = 8192  # the cross-batch memory's size in the xbm rows
HEADS = {"arcface", "cosface", "subcenter-arcface", "proxy-anchor"}  # losses that own class vectors


def _copy_head(ours, theirs, method: str) -> None:
    """Start PML's class vectors where ours start (PML stores ArcFace-style weights as (dim, classes))."""
    import torch

    with torch.no_grad():
        if method == "proxy-anchor":
            theirs.proxies.copy_(ours.weight)
        else:
            theirs.W.copy_(ours.weight.T)


def build_head(impl: str, method: str, n_classes: int, dim: int):
    """A loss owning class vectors, seeded alike in both implementations; the step also computes their gradient."""
    import torch

    from metrickit.losses import ArcFaceLoss, CosFaceLoss, ProxyAnchorLoss, SubCenterArcFaceLoss

    torch.manual_seed(1)  # every process draws the same class vectors

    ours = {"arcface": lambda: ArcFaceLoss(n_classes, dim), "cosface": lambda: CosFaceLoss(n_classes, dim),
            "subcenter-arcface": lambda: SubCenterArcFaceLoss(n_classes, dim), "proxy-anchor": lambda: ProxyAnchorLoss(n_classes, dim)}[method]()
    if impl == "metrickit":
        return ours
    from pytorch_metric_learning import losses

    theirs = {  # the same defaults: ArcFace's 0.5 rad in degrees, sub-center K = 3
        "arcface": lambda: losses.ArcFaceLoss(num_classes=n_classes, embedding_size=dim, margin=math.degrees(0.5), scale=64.0),
        "cosface": lambda: losses.CosFaceLoss(num_classes=n_classes, embedding_size=dim, margin=0.35, scale=64.0),
        "subcenter-arcface": lambda: losses.SubCenterArcFaceLoss(num_classes=n_classes, embedding_size=dim, margin=math.degrees(0.5),
                                                                 scale=64.0, sub_centers=3),
        "proxy-anchor": lambda: losses.ProxyAnchorLoss(num_classes=n_classes, embedding_size=dim, margin=0.1, alpha=32.0),
    }[method]()
    _copy_head(ours, theirs, method)
    return theirs


def build(impl: str, method: str, margin: float, n_classes: int = 0, dim: int = 0):
    """A function (embeddings, labels) -> loss for ``impl`` in {'metrickit', 'pml'}."""
    if method in HEADS:
        return build_head(impl, method, n_classes, dim)
    if impl == "metrickit":
        from metrickit.losses import ContrastiveLoss, MultiSimilarityLoss, NTXentLoss, SupConLoss, TripletMarginLoss
        from metrickit.miners import BatchHardMiner, MultiSimilarityMiner, SemiHardMiner

        if method == "multi-similarity":
            loss, miner = MultiSimilarityLoss(), MultiSimilarityMiner()
            return lambda e, y: loss(e, y, indices=miner(e, y))
        if method == "supcon":
            return SupConLoss(0.1)
        if method == "ntxent":
            return NTXentLoss(0.07)
        if method == "xbm-contrastive":  # the training loop's objective: the batch's pairs plus the batch against the memory
            from metrickit.training.config import ObjectiveConfig
            from metrickit.training.objective import Objective

            objective = Objective(ObjectiveConfig(loss="contrastive", xbm=XBM_SIZE), dim, n_classes)
            return lambda e, y: objective(e, y)[0]

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

        if method == "multi-similarity":
            loss, miner = losses.MultiSimilarityLoss(alpha=2.0, beta=50.0, base=0.5), miners.MultiSimilarityMiner(epsilon=0.1)
            return lambda e, y: loss(e, y, miner(e, y))
        if method == "supcon":
            return losses.SupConLoss(temperature=0.1)
        if method == "ntxent":
            return losses.NTXentLoss(temperature=0.07)
        if method == "xbm-contrastive":  # PML's memory enqueues the batch, then scores it against the whole memory
            plain = distances.LpDistance(normalize_embeddings=False, power=1)
            inner = losses.ContrastiveLoss(pos_margin=0.0, neg_margin=1.0, distance=plain, reducer=reducers.AvgNonZeroReducer())
            memory = losses.CrossBatchMemory(inner, embedding_size=dim, memory_size=XBM_SIZE)
            return lambda e, y: memory(e, y)
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
    labels = torch.arange(batch) % n_classes  # NT-Xent: n_classes = batch / 2, so rows i and i + batch/2 are one image's views
    warmups = 3 + (math.ceil(XBM_SIZE / batch) if method.startswith("xbm") else 0)
    # a memory needs batches that differ (else it holds copies of one batch); the other rows repeat the same batch
    inputs = [base + 0.02 * torch.randn(batch, dim, generator=g) for _ in range(warmups + 10)] if method.startswith("xbm") else None
    step = build(impl, method, margin=0.2, n_classes=n_classes, dim=dim)
    baseline = _rss_mib()
    times, value = [], None
    for i in range(warmups + 10):
        embeddings = (base if inputs is None else inputs[i]).clone().requires_grad_(True)
        began = time.perf_counter()
        loss = step(embeddings, labels)
        loss.backward()
        elapsed = time.perf_counter() - began
        if i == 0:
            value = float(loss.detach())
        if i >= warmups:
            times.append(elapsed)
    times.sort()
    record = {"impl": impl, "method": method, "batch": batch, "n_classes": n_classes, "dim": dim, "threads": threads,
              "median_seconds": times[len(times) // 2], "loss": value, "peak_rss_increase_mib": _rss_mib() - baseline}
    with open(out, "w") as fh:
        json.dump(record, fh)


if __name__ == "__main__":
    main()
