"""DistributedBatchNorm on two ranks equals nn.BatchNorm on the concatenated batch: outputs, gradients, statistics."""

import pytest
import torch
from torch import nn

from metrickit.distributed import DistributedBatchNorm, to_distributed_batchnorm, to_plain_batchnorm
from tests.distributed import _workers
from tests.distributed._spawn import run_ranks


@pytest.mark.parametrize("dims", [1, 2])
def test_two_ranks_equal_batchnorm_on_the_whole_batch(dims):
    ranks = run_ranks(_workers.batchnorm, dims)
    x, weights = ranks[0]["x"], ranks[0]["weights"]
    layer = (nn.BatchNorm1d(3) if dims == 1 else nn.BatchNorm2d(3)).double()
    layer.load_state_dict(ranks[0]["initial"])
    whole = x.clone().requires_grad_(True)
    y = layer(whole)
    (y * weights).sum().backward()
    torch.testing.assert_close(torch.cat([r["y"] for r in ranks]), y.detach(), rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(torch.cat([r["dx"] for r in ranks]), whole.grad, rtol=1e-10, atol=1e-12)
    for r in ranks:
        torch.testing.assert_close(r["affine"], torch.cat([layer.weight.grad, layer.bias.grad]), rtol=1e-10, atol=1e-12)
        torch.testing.assert_close(r["running_mean"], layer.running_mean, rtol=1e-12, atol=1e-12)
        torch.testing.assert_close(r["running_var"], layer.running_var, rtol=1e-12, atol=1e-12)
        assert r["plain"] == type(layer).__name__


def test_on_one_process_and_in_eval_it_is_batchnorm_and_converts_back():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(1, 4, 3), nn.BatchNorm2d(4), nn.ReLU(), nn.Flatten(), nn.Linear(4 * 4 * 4, 3), nn.BatchNorm1d(3))
    reference = nn.Sequential(*[layer for layer in model])  # the same modules, before conversion
    x = torch.randn(6, 1, 6, 6)
    expected = reference(x)
    state = {k: v.clone() for k, v in model.state_dict().items()}
    model.load_state_dict(state)
    converted = to_distributed_batchnorm(model)
    assert sum(isinstance(m, DistributedBatchNorm) for m in converted.modules()) == 2
    assert converted.state_dict().keys() == state.keys()
    torch.testing.assert_close(converted(x), expected)
    converted.eval()
    plain = to_plain_batchnorm(converted)
    assert [type(m) for m in plain.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)] == [nn.BatchNorm2d, nn.BatchNorm1d]
    assert not plain.training


def test_rows_of_unequal_parts_are_gathered_in_order_and_errors_on_rank_0_reach_every_rank():
    got = run_ranks(_workers.rows, [3, 1])
    for gathered in got:
        assert gathered.tolist() == [[0.0, 0.0]] * 3 + [[1.0, 1.0]]
    assert run_ranks(_workers.main_only_failure) == ["output folder runs/x is not empty"] * 2
