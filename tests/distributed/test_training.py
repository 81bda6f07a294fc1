"""Two processes (gloo, spawned here) train exactly as one process does on the same global batches: loss, gradients
(model and loss-owned parameters), BatchNorm statistics, parameters after 5 SGD steps, and resume."""

import pytest
import torch

from tests.distributed import _workers
from tests.distributed._spawn import run_ranks

ARCHITECTURES = ("mlp", "conv4")
STEPPED = _workers.CASES


def _close(a: torch.Tensor, b: torch.Tensor, tolerance: float) -> bool:
    return torch.allclose(a, b, rtol=tolerance, atol=tolerance * max(1.0, float(b.abs().max()) if b.numel() else 1.0))


@pytest.fixture(scope="module", params=ARCHITECTURES)
def gradient_runs(request):
    """Each case's loss and gradients on one process and on each of two."""
    architecture = request.param
    return architecture, _workers.gradients(architecture), run_ranks(_workers.gradients, architecture)


@pytest.fixture(scope="module", params=ARCHITECTURES)
def stepped_runs(request):
    architecture = request.param
    return architecture, _workers.trained(architecture, STEPPED), run_ranks(_workers.trained, architecture, STEPPED)


@pytest.mark.parametrize("case", _workers.CASES, ids=lambda case: "-".join(str(part) for part in case))
def test_two_processes_give_the_single_process_loss_and_gradients(gradient_runs, case):
    architecture, single, ranks = gradient_runs
    if case not in single:
        pytest.skip(f"{case[0]} learns from views of images; {architecture} takes features")
    one = single[case]
    for rank, results in enumerate(ranks):
        got = results[case]
        assert abs(got["loss"] - one["loss"]) <= 1e-6 * max(1.0, abs(one["loss"])), (rank, got["loss"], one["loss"])
        for part in ("model", "objective"):
            assert got[part].keys() == one[part].keys()
            for name, grad in one[part].items():
                assert _close(got[part][name], grad, 1e-5), (rank, part, name, float((got[part][name] - grad).abs().max()))
        for name, buffer in one["buffers"].items():  # BatchNorm's running statistics, reduced over both ranks
            assert _close(got["buffers"][name].double(), buffer.double(), 1e-6), (rank, name)


@pytest.mark.parametrize("case", STEPPED, ids=lambda case: "-".join(str(part) for part in case))
def test_parameters_after_five_steps_equal_one_process(stepped_runs, case):
    architecture, single, ranks = stepped_runs
    if case not in single:
        pytest.skip("no views for features")
    one = single[case]
    for rank, results in enumerate(ranks):
        got = results[case]
        assert got["losses"] == pytest.approx(one["losses"], rel=1e-6, abs=1e-9)
        for part in ("model", "objective"):
            for name, value in one[part].items():
                assert _close(got[part][name].double(), value.double(), 1e-5), (rank, part, name)
        assert got["processes"]["world_size"] == 2 and got["processes"]["backend"] == "gloo"
        assert got["processes"]["samples_per_rank"] == [8 * 5, 8 * 5]
        assert got["processes"]["batch_rows_per_rank"] == [[0, 8], [8, 16]]
    assert one["processes"] == {"world_size": 1, "backend": None, "samples_per_rank": [16 * 5], "batch_rows_per_rank": [[0, 16]],
                                "sync_batchnorm": None}


@pytest.mark.parametrize("case", [("contrastive", "all", 24), ("proxy-anchor", None, 0), ("triplet", "random", 0)],
                         ids=["xbm", "proxies", "random-miner"])
def test_resume_under_two_processes_equals_the_uninterrupted_run(tmp_path, case):
    ranks = run_ranks(_workers.resumed, "conv4", case, str(tmp_path))
    for rank, runs in enumerate(ranks):
        straight, resumed = runs["straight"], runs["resumed"]
        assert resumed["losses"] == straight["losses"], rank
        for part in ("model", "objective"):
            for name, value in straight[part].items():
                assert torch.equal(resumed[part][name], value), (rank, part, name)
    for name, value in ranks[0]["resumed"]["objective"].items():  # the memory queue (and every loss parameter) on both ranks
        assert torch.equal(ranks[1]["resumed"]["objective"][name], value), name


def test_a_global_batch_that_does_not_split_evenly_is_refused():
    from metrickit.distributed import World

    with pytest.raises(ValueError, match=r"global batch of 15 cannot be split evenly over 2 processes: make it a multiple of 2"):
        World(rank=0, size=2).shard(15)
