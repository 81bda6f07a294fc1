"""One cell of bench/ddp_scaling.py: training steps of conv-4 on MNIST P x K global batches, on one process or on each
of torchrun's processes. ``time``: rank 0 writes the median step time (float32) and the bytes each rank sent per step;
``check``: how far the first step's loss and gradients (float64, after DDP's average) are from one process's on the
same global batch.

    [torchrun --standalone --nproc-per-node N] _ddp_worker.py time|check IMPL LOSS BATCH STEPS OUT
"""

from __future__ import annotations

import copy
import json
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

MARGIN, N_CLASSES, DIM, PER_CLASS_OF = 0.2, 10, 64, {256: 32, 1024: 128}  # P = 8 digits per batch


class Traffic:
    """Bytes this rank sends per collective, as a ring algorithm sends them: all_gather (N-1) x its part, all_reduce
    2 (N-1)/N x the tensor. DDP's gradient all-reduce runs in C++ and is counted from the parameter sizes."""

    def __init__(self, size: int):
        import torch.distributed as dist

        self.size, self.bytes = size, 0
        for name, factor in (("all_gather", lambda t: (size - 1) * t), ("all_reduce", lambda t: 2 * (size - 1) / size * t)):
            original = getattr(dist, name)

            def counted(*args, _original=original, _factor=factor, _name=name, **kwargs):
                tensor = args[1] if _name == "all_gather" else args[0]
                self.bytes += _factor(tensor.numel() * tensor.element_size())
                return _original(*args, **kwargs)

            setattr(dist, name, counted)


def build(impl: str, loss_name: str):
    """``(step_loss(embeddings_of_this_rank, labels_of_this_rank, labels_of_the_global_batch), reference(embeddings,
    labels) on one process, the loss's own parameters)``."""
    from metrickit import distributed

    from _deep_speed_worker import build_head

    if impl == "metrickit":
        from metrickit.losses import TripletMarginLoss

        loss = build_head("metrickit", "arcface", N_CLASSES, DIM) if loss_name == "arcface" else TripletMarginLoss(MARGIN, triplets="semihard")
        return (lambda own, y_own, y_all: loss(distributed.gather_batch(own), y_all)), (lambda e, y: loss(e, y)), list(loss.parameters())
    from pytorch_metric_learning import distances, losses, miners, reducers
    from pytorch_metric_learning.utils.distributed import DistributedLossWrapper, DistributedMinerWrapper

    alone = not distributed.world().active  # PML's miner wrapper needs a process group: one process runs the plain loss
    if loss_name == "arcface":
        inner = build_head("pml", "arcface", N_CLASSES, DIM)
        wrapped = inner if alone else DistributedLossWrapper(inner)
        return (lambda own, y_own, y_all: wrapped(own, y_own)), (lambda e, y: inner(e, y)), list(inner.parameters())
    squared = distances.LpDistance(normalize_embeddings=False, power=2)
    inner = losses.TripletMarginLoss(margin=MARGIN, distance=squared, reducer=reducers.AvgNonZeroReducer())
    miner = miners.TripletMarginMiner(margin=MARGIN, type_of_triplets="semihard", distance=squared)
    wrapped, wrapped_miner = (inner, miner) if alone else (DistributedLossWrapper(inner), DistributedMinerWrapper(miner))
    return ((lambda own, y_own, y_all: wrapped(own, y_own, wrapped_miner(own, y_own))), (lambda e, y: inner(e, y, miner(e, y))), [])


def main() -> None:
    mode, impl, loss_name, batch, steps, out = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5]), Path(sys.argv[6])
    import numpy as np
    import torch

    from metrickit import distributed
    from metrickit.datasets.labeled import load_labeled
    from metrickit.samplers import ClassBalancedBatchSampler
    from metrickit.training.config import EmbedderConfig
    from metrickit.training.engine import parallel_model
    from metrickit.training.loop import build_model

    here = distributed.init_from_environment(threads=1, announce=False)
    dtype = torch.float64 if mode == "check" else torch.float32  # the check in float64: rounding does not flip a mined triplet
    data = load_labeled("mnist", "train")
    inputs, labels = torch.from_numpy(data.X).to(dtype), torch.from_numpy(data.labels.astype(np.int64))
    sampler = ClassBalancedBatchSampler(data.labels, 8, PER_CLASS_OF[batch], n_batches=1 if mode == "check" else steps + 3, seed=0)
    torch.manual_seed(0)
    model = build_model(EmbedderConfig(embedding_dim=DIM), loss_name, (1, 28, 28)).to(dtype)
    single = copy.deepcopy(model)
    step_loss, reference, own_parameters = build(impl, loss_name)
    for p in own_parameters:
        p.data = p.data.to(dtype)
    trainer = parallel_model(model, here, torch.device("cpu"), True)  # BatchNorm over the global batch for both
    optimizer = torch.optim.SGD([*model.parameters(), *own_parameters], lr=0.01)
    traffic = Traffic(here.size) if here.active else None
    gradient_bytes = sum(p.numel() * p.element_size() for p in model.parameters()) * 2 * (here.size - 1) / here.size
    times = []
    for step, indices in enumerate(sampler):
        indices = torch.as_tensor(indices)
        own = here.shard(len(indices))
        began = time.perf_counter()
        loss = step_loss(trainer(inputs[indices[own]]), labels[indices[own]], labels[indices])
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        if mode == "check":
            break
        optimizer.step()
        if here.active:
            torch.distributed.barrier()
        times.append(time.perf_counter() - began)
        if step == 2 and traffic:  # count the timed steps only
            traffic.bytes = 0
    if not here.is_main:
        distributed.shutdown()
        return
    result = {"mode": mode, "impl": impl, "loss": loss_name, "global_batch": batch, "processes": here.size, "backend": here.backend}
    if mode == "time":
        result.update(steps_timed=len(times) - 3, median_step_seconds=float(np.median(times[3:])), step_seconds=times,
                      bytes_sent_per_step=(traffic.bytes / (len(times) - 3) + gradient_bytes) if traffic else 0.0)
    else:  # the same global batch on one process, from the same initial weights and class vectors
        torch.manual_seed(0)
        _, single_loss, single_parameters = build(impl, loss_name)
        for p in single_parameters:
            p.data = p.data.to(dtype)
        value = single_loss(single.train()(inputs[indices]), labels[indices])
        value.backward()
        flat = lambda params: torch.cat([p.grad.flatten() for p in params])  # noqa: E731
        relative = lambda a, b: float((a - b).norm() / b.norm())  # noqa: E731
        result.update(loss_ratio=float(loss.detach()) / float(value.detach()),
                      gradient_relative_difference=relative(flat(model.parameters()), flat(single.parameters())))
        if single_parameters:
            result.update(head_gradient_ratio=float(flat(own_parameters).norm() / flat(single_parameters).norm()),
                          head_gradient_relative_difference=relative(flat(own_parameters), flat(single_parameters)))
    out.write_text(json.dumps(result))
    distributed.shutdown()


if __name__ == "__main__":
    main()
