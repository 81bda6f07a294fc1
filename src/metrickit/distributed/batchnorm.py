"""BatchNorm over the global batch on any backend (torch's SyncBatchNorm runs on CUDA only).

In training, the per-channel count, sum and sum of squares are summed over all ranks in the forward pass, and the
sums of dy and dy * x_hat in the backward pass, so outputs, input gradients and running statistics equal
``nn.BatchNorm`` on the concatenated batch. In eval mode (and for one process) it is ``nn.BatchNorm`` itself.
"""

from __future__ import annotations

import torch
from torch import nn

from metrickit.distributed.context import world
from metrickit.distributed.gather import all_sum

__all__ = ["DistributedBatchNorm", "to_distributed_batchnorm", "to_plain_batchnorm"]


class _GlobalBatchNorm(torch.autograd.Function):
    """y = x_hat * weight + bias with x_hat from the global batch's mean and (biased) variance per channel."""

    @staticmethod
    def forward(ctx, x, weight, bias, eps: float):
        dims = [d for d in range(x.ndim) if d != 1]
        shape = [1, -1] + [1] * (x.ndim - 2)
        local = torch.cat([x.sum(dims), (x * x).sum(dims), x.new_full((1,), x.numel() / x.shape[1])])
        sums = all_sum(local)
        channels = x.shape[1]
        count = sums[-1]
        mean = sums[:channels] / count
        var = (sums[channels : 2 * channels] / count - mean * mean).clamp_min(0)
        invstd = torch.rsqrt(var + eps)
        x_hat = (x - mean.view(shape)) * invstd.view(shape)
        ctx.save_for_backward(x_hat, weight, invstd, count)
        ctx.dims, ctx.shape = dims, shape
        ctx.mark_non_differentiable(mean, var, count)
        return x_hat * weight.view(shape) + bias.view(shape), mean, var, count

    @staticmethod
    def backward(ctx, dy, _mean, _var, _count):
        x_hat, weight, invstd, count = ctx.saved_tensors
        dims, shape = ctx.dims, ctx.shape
        sum_dy, sum_dy_xhat = dy.sum(dims), (dy * x_hat).sum(dims)
        channels = len(sum_dy)
        total = all_sum(torch.cat([sum_dy, sum_dy_xhat]))
        mean_dy, mean_dy_xhat = total[:channels] / count, total[channels:] / count
        dx = (weight * invstd).view(shape) * (dy - mean_dy.view(shape) - x_hat * mean_dy_xhat.view(shape))
        return dx, sum_dy_xhat, sum_dy, None  # the affine gradients are this rank's; DDP averages them


class DistributedBatchNorm(nn.modules.batchnorm._BatchNorm):
    """``nn.BatchNorm1d/2d/3d`` whose training statistics come from every rank's part of the batch (same state_dict);
    ``plain`` is the layer type it replaced, which :func:`to_plain_batchnorm` restores."""

    def __init__(self, plain: type[nn.modules.batchnorm._BatchNorm], **settings):
        super().__init__(**settings)
        self.plain = plain

    def _check_input_dim(self, x: torch.Tensor) -> None:
        if x.ndim < 2:
            raise ValueError(f"BatchNorm needs inputs of shape (batch, channels, ...); got {tuple(x.shape)}.")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self._check_input_dim(x)
        if not (self.training and world().active):
            return super().forward(x)
        factor = 0.0 if self.momentum is None else self.momentum
        if self.track_running_stats:
            self.num_batches_tracked.add_(1)
            factor = 1.0 / float(self.num_batches_tracked) if self.momentum is None else self.momentum
        weight = self.weight if self.affine else x.new_ones(x.shape[1])
        bias = self.bias if self.affine else x.new_zeros(x.shape[1])
        y, mean, var, count = _GlobalBatchNorm.apply(x, weight, bias, self.eps)
        if self.track_running_stats:
            with torch.no_grad():
                unbiased = var * count / (count - 1).clamp_min(1)
                self.running_mean.mul_(1 - factor).add_(mean.detach(), alpha=factor)
                self.running_var.mul_(1 - factor).add_(unbiased.detach(), alpha=factor)
        return y


def _swap(module: nn.Module, make) -> nn.Module:
    for name, child in module.named_children():
        replaced = make(child)
        if replaced is not None:
            replaced.load_state_dict(child.state_dict())
            replaced.train(child.training)
            setattr(module, name, replaced)
        else:
            _swap(child, make)
    return module


def _settings(norm: nn.modules.batchnorm._BatchNorm) -> dict:
    return dict(num_features=norm.num_features, eps=norm.eps, momentum=norm.momentum, affine=norm.affine,
                track_running_stats=norm.track_running_stats, device=norm.running_mean.device if norm.running_mean is not None else None,
                dtype=norm.weight.dtype if norm.affine else None)


def to_distributed_batchnorm(module: nn.Module) -> nn.Module:
    """Replace every ``nn.BatchNorm1d/2d/3d`` in ``module`` (in place) by a :class:`DistributedBatchNorm` with its state."""
    plain = (nn.BatchNorm1d, nn.BatchNorm2d, nn.BatchNorm3d)
    return _swap(module, lambda child: DistributedBatchNorm(type(child), **_settings(child)) if type(child) in plain else None)


def to_plain_batchnorm(module: nn.Module) -> nn.Module:
    """Undo :func:`to_distributed_batchnorm` (in place): the original layer types, with the trained state."""
    return _swap(module, lambda child: child.plain(**_settings(child)) if isinstance(child, DistributedBatchNorm) else None)
