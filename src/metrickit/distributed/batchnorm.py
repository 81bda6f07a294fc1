"""BatchNorm over the global batch on any backend (torch's SyncBatchNorm runs on CUDA only).

In training, each rank's per-channel count, mean and variance are gathered and pooled in the forward pass, and the
sums of dy and dy * x_hat are summed over all ranks in the backward pass, so outputs, input gradients and running
statistics equal ``nn.BatchNorm`` on the concatenated batch. In eval mode (and for one process) it is ``nn.BatchNorm`` itself.
"""

from __future__ import annotations

import torch
from torch import nn

from metrickit.distributed.context import world
from metrickit.distributed.gather import all_sum

__all__ = ["DistributedBatchNorm", "to_distributed_batchnorm", "to_plain_batchnorm"]


class _GlobalBatchNorm(torch.autograd.Function):
    """y = x_hat * weight + bias with x_hat from the global batch's mean and (biased) variance per channel.

    Built from torch's fused CPU/GPU kernels: each rank's per-channel mean and variance (BatchNorm's one-pass kernel),
    combined over the ranks exactly (Chan et al.'s pooled variance); the normalisation is BatchNorm's inference kernel with those
    statistics; backward gets the local sums of dy and dy * x_hat from BatchNorm's own backward reduction, sums them
    over the ranks and forms dx as a per-channel affine function of dy and x.
    """

    @staticmethod
    def forward(ctx, x, weight, bias, eps: float):
        here = world()
        mean, var = torch.batch_norm_update_stats(x, None, None, 0.0)  # BatchNorm's own one-pass kernel (biased variance)
        channels, count = x.shape[1], x.numel() / x.shape[1]
        local = torch.cat([mean, var, x.new_full((1,), count)])
        parts = [torch.empty_like(local) for _ in range(here.size)]
        torch.distributed.all_gather(parts, local)
        stats = torch.stack(parts)  # (ranks, 2 C + 1)
        counts = stats[:, -1:]
        total = counts.sum()
        mean = (stats[:, :channels] * counts).sum(0) / total
        var = ((stats[:, channels : 2 * channels] + (stats[:, :channels] - mean) ** 2) * counts).sum(0) / total
        invstd = torch.rsqrt(var + eps)
        y = torch.batch_norm(x, weight, bias, mean, var, False, 0.0, eps, torch.backends.cudnn.enabled)
        ctx.save_for_backward(x, weight, mean, invstd, total)
        ctx.eps = eps
        ctx.mark_non_differentiable(mean, var, total)
        return y, mean, var, total

    @staticmethod
    def backward(ctx, dy, _mean, _var, _count):
        x, weight, mean, invstd, total = ctx.saved_tensors
        shape = [1, -1] + [1] * (x.ndim - 2)
        dy = dy.contiguous(memory_format=torch.channels_last) if x.is_contiguous(memory_format=torch.channels_last) and x.ndim == 4 else dy
        _, sum_dy_xhat, sum_dy = torch.ops.aten.native_batch_norm_backward(dy, x, weight, None, None, mean, invstd, True, ctx.eps,
                                                                            [False, True, True])
        channels = len(sum_dy)
        sums = all_sum(torch.cat([sum_dy, sum_dy_xhat]))
        mean_dy, mean_dy_xhat = sums[:channels] / total, sums[channels:] / total
        scale = weight * invstd
        slope = -scale * invstd * mean_dy_xhat  # dx = scale * dy + slope * x + offset, per channel
        offset = -scale * mean_dy - slope * mean
        dx = torch.addcmul(offset.view(shape), dy, scale.view(shape))
        dx.addcmul_(x, slope.view(shape))
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
