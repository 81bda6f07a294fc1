"""Two augmented views of each image, in torch (no torchvision), for self-supervised losses such as NT-Xent."""

from __future__ import annotations

import math

import torch
from torch.nn import functional as F

__all__ = ["ImageViews"]


class ImageViews:
    """Random views of a batch of prepared images (batch, channels, height, width): a random crop of ``crop_scale``
    of the area, resized back, with a rotation of up to ``max_rotation`` degrees and a shift of up to ``max_shift``
    of the size (one affine warp, bilinear, zeros outside), then Gaussian noise of standard deviation ``noise`` (in the
    prepared inputs' units). Randomness comes from torch's global generator, which the training loop seeds and saves
    in checkpoints, so a resumed run draws the same views."""

    def __init__(self, crop_scale: tuple[float, float] = (0.6, 1.0), max_rotation: float = 10.0, max_shift: float = 0.1,
                 noise: float = 0.1):
        low, high = crop_scale
        if not 0.0 < low <= high <= 1.0:
            raise ValueError(f"`crop_scale` must be (low, high) with 0 < low <= high <= 1; got {crop_scale!r}.")
        if max_rotation < 0 or max_shift < 0 or noise < 0:
            raise ValueError("`max_rotation`, `max_shift` and `noise` must be >= 0.")
        self.crop_scale, self.max_rotation, self.max_shift, self.noise = (low, high), max_rotation, max_shift, noise

    def __call__(self, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``(views, labels)``: two views of each image, (2 * batch, channels, height, width), both labelled by the
        image's position in the batch."""
        views, labels, _ = self.part(images)
        return views, labels

    def part(self, images: torch.Tensor, rows: slice = slice(None), total: int | None = None
             ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """The views of one rank's ``images``, rows ``rows`` of a global batch of ``total`` images, drawn as one
        process draws them for the whole batch: ``(views, labels, positions)``, where ``positions`` are the views'
        rows in the single-process layout (view v of image i at v * total + i) and ``labels`` the images' positions."""
        if images.ndim != 4:
            raise ValueError(f"views need images (batch, channels, height, width); got inputs of shape {tuple(images.shape)}.")
        total = len(images) if total is None else int(total)
        own = torch.arange(total)[rows]
        if len(own) != len(images):
            raise ValueError(f"`rows` select {len(own)} of {total} images but {len(images)} images were given.")
        positions = torch.cat([own, own + total])
        n = 2 * total
        low, high = self.crop_scale
        zoom = torch.sqrt(low + (high - low) * torch.rand(n))[positions]  # side of the crop, as a fraction of the image's
        angle = ((torch.rand(n) * 2 - 1) * math.radians(self.max_rotation))[positions]
        shift = ((torch.rand(n, 2) * 2 - 1) * self.max_shift * 2)[positions]  # affine_grid's coordinates span [-1, 1]
        both = torch.cat([images, images])
        cos, sin = torch.cos(angle) * zoom, torch.sin(angle) * zoom
        theta = torch.stack([torch.stack([cos, -sin, shift[:, 0]], 1), torch.stack([sin, cos, shift[:, 1]], 1)], 1)
        grid = F.affine_grid(theta.to(both.dtype), list(both.shape), align_corners=False)
        views = F.grid_sample(both, grid, mode="bilinear", padding_mode="zeros", align_corners=False)
        noise = torch.randn((n, *images.shape[1:]), dtype=views.dtype)
        views = views + self.noise * (noise if len(positions) == n else noise[positions])
        return views, own.repeat(2), positions
