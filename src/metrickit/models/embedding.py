"""Embedding networks: an MLP for vectors, the conv-4 net of Prototypical Networks, and a small ResNet; and, so that
baselines are model files too, the flattened input itself (Euclidean on pixels) and an affine map (a linear metric).

Each maps inputs to points of a learned metric space (``(batch_size, embedding_dim)``), optionally on
the unit sphere, and records the arguments it was built with (``config``) so a model file can
rebuild it without pickles.
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

__all__ = ["ARCHITECTURES", "FlipAverage", "HOG", "ColourHistogram", "Conv4", "EmbeddingNet", "LinearEmbedder", "MLP", "Pixels", "SmallResNet", "build_embedder"]


class EmbeddingNet(nn.Module):
    """Base class: ``features`` then optional L2 normalisation; batched, gradient-free :meth:`embed`.

    Convolutional subclasses call :meth:`_use_channels_last` once built: weights and image batches are then
    kept channels-last (NHWC), which makes CPU convolutions about 1.4x faster here (2 threads, conv-4 on 28 x 28).
    """

    name = "embedding"
    _channels_last = False

    def __init__(self, *, normalize: bool = False, **config: Any):
        super().__init__()
        self.normalize = bool(normalize)
        self.config: dict[str, Any] = {**config, "normalize": self.normalize}

    def features(self, x: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def _use_channels_last(self) -> None:
        self._channels_last = True
        self.to(memory_format=torch.channels_last)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self._channels_last and x.dim() == 4:
            x = x.contiguous(memory_format=torch.channels_last)
        z = self.features(x)  # (batch_size, embedding_dim)
        return F.normalize(z, dim=1) if self.normalize else z

    @torch.no_grad()
    def embed(self, inputs: torch.Tensor | np.ndarray, batch_size: int = 256) -> torch.Tensor | np.ndarray:
        """Embeddings of ``inputs`` in eval mode (BatchNorm uses running statistics), in batches, on CPU.

        A numpy array in gives a numpy array out. The module's training mode is restored afterwards.
        """
        if isinstance(inputs, np.ndarray):
            return self.embed(torch.from_numpy(inputs), batch_size).numpy()
        from metrickit.distributed.sharding import embed_sharded, sharding

        if sharding():  # a training process group's evaluation: each rank embeds its block of the rows
            return embed_sharded(lambda block: self._embed_local(block, batch_size), inputs)
        return self._embed_local(inputs, batch_size)

    def _embed_local(self, inputs: torch.Tensor, batch_size: int) -> torch.Tensor:
        was_training = self.training
        self.eval()
        try:
            device = next(self.parameters(), torch.zeros(0)).device
            parts = [self(inputs[start : start + batch_size].to(device)).cpu() for start in range(0, len(inputs), batch_size)]
        finally:
            self.train(was_training)
        return torch.cat(parts) if parts else torch.zeros(0, self.embedding_dim)

    @property
    def embedding_dim(self) -> int:
        raise NotImplementedError


class Pixels(EmbeddingNet):
    """The (preprocessed) input itself, flattened: Euclidean distance on pixels, as a model file that can carry a threshold."""

    name = "pixels"

    def __init__(self, in_features: int, *, normalize: bool = False):
        super().__init__(in_features=int(in_features), normalize=normalize)
        self._dim = int(in_features)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        return x.flatten(1)

    @property
    def embedding_dim(self) -> int:
        return self._dim


class LinearEmbedder(EmbeddingNet):
    """An affine map ``x -> W x + b`` of the flattened input: a learned Mahalanobis metric (say PCA then LMNN) as a model file."""

    name = "linear"

    def __init__(self, in_features: int, embedding_dim: int, *, normalize: bool = False):
        super().__init__(in_features=int(in_features), embedding_dim=int(embedding_dim), normalize=normalize)
        self.linear = nn.Linear(int(in_features), int(embedding_dim))

    @classmethod
    def from_affine(cls, weight: np.ndarray, bias: np.ndarray) -> "LinearEmbedder":
        """The embedder computing ``weight @ x + bias`` (weight of shape (embedding_dim, in_features))."""
        module = cls(weight.shape[1], weight.shape[0])
        _set_affine(module.linear, weight, bias)
        return module

    def features(self, x: torch.Tensor) -> torch.Tensor:
        return self.linear(x.flatten(1))

    @property
    def embedding_dim(self) -> int:
        return self.linear.out_features


def _set_affine(linear: nn.Linear, weight: np.ndarray, bias: np.ndarray) -> None:
    with torch.no_grad():
        linear.weight.copy_(torch.as_tensor(weight, dtype=torch.float32))
        linear.bias.copy_(torch.as_tensor(bias, dtype=torch.float32))


class ColourHistogram(EmbeddingNet):
    """Colour histograms of horizontal stripes: the classic hand-made re-identification feature.

    Images (batch_size, channels, height, width) with values in [0, 1] are cut into ``n_stripes`` horizontal
    stripes; each stripe and channel gives an ``n_bins``-bin histogram normalised to sum 1, and the square
    root is taken (so Euclidean distance is the Hellinger distance between histograms). With
    ``embedding_dim`` an affine map (say PCA then LMNN, set by :meth:`set_projection`) follows.
    """

    name = "histogram"

    def __init__(self, in_channels: int = 3, n_stripes: int = 6, n_bins: int = 16, embedding_dim: int | None = None, *,
                 normalize: bool = False):
        super().__init__(in_channels=int(in_channels), n_stripes=int(n_stripes), n_bins=int(n_bins), embedding_dim=embedding_dim,
                         normalize=normalize)
        self.n_stripes, self.n_bins = int(n_stripes), int(n_bins)
        self.n_histogram = self.n_stripes * int(in_channels) * self.n_bins
        self.head = nn.Linear(self.n_histogram, int(embedding_dim)) if embedding_dim else None

    def histograms(self, x: torch.Tensor) -> torch.Tensor:
        """The square-rooted stripe histograms (batch_size, n_stripes * channels * n_bins)."""
        batch, channels, height, width = x.shape
        if height < self.n_stripes:
            raise ValueError(f"images {height} pixels high cannot be cut into {self.n_stripes} stripes.")
        bins = (x.clamp(0, 1) * self.n_bins).long().clamp_(max=self.n_bins - 1)  # (b, c, h, w)
        stripe = torch.arange(height, device=x.device) * self.n_stripes // height  # (h,)
        index = (stripe[None, None, :, None] * channels + torch.arange(channels, device=x.device)[None, :, None, None]) * self.n_bins + bins
        counts = torch.zeros(batch, self.n_histogram, device=x.device).scatter_add_(1, index.flatten(1), torch.ones_like(x).flatten(1))
        per_stripe = torch.bincount(stripe, minlength=self.n_stripes).repeat_interleave(channels * self.n_bins) * width
        return (counts / per_stripe.to(counts.dtype)).sqrt()

    def set_projection(self, weight: np.ndarray, bias: np.ndarray) -> None:
        """Set the affine map ``weight @ h + bias`` applied to the histograms ``h``."""
        if self.head is None:
            raise ValueError("this histogram embedder was built without `embedding_dim`, so it has no projection to set.")
        _set_affine(self.head, weight, bias)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        h = self.histograms(x)
        return self.head(h) if self.head is not None else h

    @property
    def embedding_dim(self) -> int:
        return self.head.out_features if self.head is not None else self.n_histogram


class MLP(EmbeddingNet):
    """Linear layers with ReLU (and BatchNorm) between them, for feature vectors (batch_size, in_features)."""

    name = "mlp"

    def __init__(self, in_features: int, hidden: Sequence[int] = (256,), embedding_dim: int = 64, *, normalize: bool = False):
        super().__init__(in_features=int(in_features), hidden=[int(h) for h in hidden], embedding_dim=int(embedding_dim), normalize=normalize)
        layers: list[nn.Module] = []
        width = int(in_features)
        for h in hidden:
            layers += [nn.Linear(width, int(h)), nn.BatchNorm1d(int(h)), nn.ReLU()]
            width = int(h)
        layers.append(nn.Linear(width, int(embedding_dim)))
        self.body = nn.Sequential(*layers)
        self._dim = int(embedding_dim)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x.flatten(1))

    @property
    def embedding_dim(self) -> int:
        return self._dim


def _conv_block(in_channels: int, out_channels: int) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(in_channels, out_channels, 3, padding=1), nn.BatchNorm2d(out_channels), nn.ReLU(), nn.MaxPool2d(2))


class Conv4(EmbeddingNet):
    """Four blocks of 3x3 conv (64 filters), BatchNorm, ReLU and 2x2 max-pooling (Snell et al. 2017).

    Images (batch_size, in_channels, height, width) flatten to ``width * (height // 16) * (width // 16)``
    features, ``width`` being the filters per block: 64 for 28 x 28 Omniglot, 1600 for 84 x 84. ``embedding_dim``
    adds a linear projection.
    """

    name = "conv4"

    def __init__(
        self,
        in_channels: int = 1,
        width: int = 64,
        image_size: Sequence[int] = (28, 28),
        embedding_dim: int | None = None,
        *,
        normalize: bool = False,
    ):
        super().__init__(in_channels=int(in_channels), width=int(width), image_size=[int(s) for s in image_size], embedding_dim=embedding_dim, normalize=normalize)
        self.body = nn.Sequential(
            _conv_block(int(in_channels), int(width)), *(_conv_block(int(width), int(width)) for _ in range(3))
        )
        flat = int(width) * (int(image_size[0]) // 16) * (int(image_size[1]) // 16)
        if flat == 0:
            raise ValueError(f"`image_size` {tuple(image_size)} is too small for four 2x2 poolings; use at least 16 x 16.")
        self.head = nn.Linear(flat, int(embedding_dim)) if embedding_dim else nn.Identity()
        self._dim = int(embedding_dim) if embedding_dim else flat
        self._use_channels_last()

    def features(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.body(x).flatten(1))

    @property
    def embedding_dim(self) -> int:
        return self._dim


class _BasicBlock(nn.Module):
    def __init__(self, in_channels: int, out_channels: int, stride: int):
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, out_channels, 3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(out_channels)
        self.conv2 = nn.Conv2d(out_channels, out_channels, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(out_channels)
        self.shortcut = nn.Identity()
        if stride != 1 or in_channels != out_channels:
            self.shortcut = nn.Sequential(nn.Conv2d(in_channels, out_channels, 1, stride=stride, bias=False), nn.BatchNorm2d(out_channels))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = F.relu(self.bn1(self.conv1(x)))
        return F.relu(self.bn2(self.conv2(out)) + self.shortcut(x))


class SmallResNet(EmbeddingNet):
    """A small ResNet: a 3x3 stem, one basic block per width (stride 2 after the first), global average pooling, a projection."""

    name = "resnet"

    def __init__(
        self, in_channels: int = 1, widths: Sequence[int] = (32, 64, 128), embedding_dim: int = 128, *, normalize: bool = False
    ):
        widths = [int(w) for w in widths]
        super().__init__(in_channels=int(in_channels), widths=widths, embedding_dim=int(embedding_dim), normalize=normalize)
        self.stem = nn.Sequential(nn.Conv2d(int(in_channels), widths[0], 3, padding=1, bias=False), nn.BatchNorm2d(widths[0]), nn.ReLU())
        blocks, width = [], widths[0]
        for i, w in enumerate(widths):
            blocks.append(_BasicBlock(width, w, stride=1 if i == 0 else 2))
            width = w
        self.blocks = nn.Sequential(*blocks)
        self.head = nn.Linear(width, int(embedding_dim))
        self._dim = int(embedding_dim)
        self._use_channels_last()

    def features(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.blocks(self.stem(x)).mean(dim=(2, 3)))

    @property
    def embedding_dim(self) -> int:
        return self._dim


class HOG(EmbeddingNet):
    """Histograms of oriented gradients (Dalal & Triggs 2005), as scikit-image's ``hog`` computes them, optionally
    followed by an affine map (a linear metric learned on them: PCA, KISSME, LMNN).

    Gradients are central differences (zero on the border rows and columns); each pixel votes its gradient magnitude
    into one of ``orientations`` unsigned orientation bins; ``cell`` x ``cell`` pixel cells average their votes; blocks
    of ``block`` x ``block`` cells, moved one cell at a time, are L2-Hys normalised (L2, clip at 0.2, L2 again). Equal
    to ``skimage.feature.hog(image, orientations, (cell, cell), (block, block), 'L2-Hys')`` (tested); written in torch
    so that a descriptor-based model is one file and exports to ONNX. Orientation bins are found by comparing the
    gradient with the bin edges' directions (no arctangent). With ``root`` the descriptor's square root is taken (so
    that Euclidean distance compares histograms as the Hellinger distance does, as RootSIFT does for SIFT).
    """

    name = "hog"

    def __init__(self, image_size: Sequence[int] = (64, 64), orientations: int = 9, cell: int = 8, block: int = 2,
                 embedding_dim: int | None = None, *, root: bool = False, normalize: bool = False):
        super().__init__(image_size=[int(s) for s in image_size], orientations=int(orientations), cell=int(cell), block=int(block),
                         embedding_dim=embedding_dim, root=bool(root), normalize=normalize)
        self.orientations, self.cell, self.block, self.root = int(orientations), int(cell), int(block), bool(root)
        self.cells = (int(image_size[0]) // self.cell, int(image_size[1]) // self.cell)
        if min(self.cells) < self.block or self.orientations < 1:
            raise ValueError(f"`image_size` {tuple(image_size)} holds {self.cells} cells of {self.cell} pixels; a block needs "
                             f"{self.block} x {self.block} cells and `orientations` must be >= 1.")
        edges = torch.arange(1, self.orientations, dtype=torch.float64) * (torch.pi / self.orientations)
        self.register_buffer("edges", torch.stack([torch.cos(edges), torch.sin(edges)]).float(), persistent=False)
        self.descriptor_dim = (self.cells[0] - self.block + 1) * (self.cells[1] - self.block + 1) * self.block**2 * self.orientations
        self.head = nn.Linear(self.descriptor_dim, int(embedding_dim)) if embedding_dim else nn.Identity()
        self._dim = int(embedding_dim) if embedding_dim else self.descriptor_dim

    @classmethod
    def with_affine(cls, weight: np.ndarray, bias: np.ndarray, **settings: Any) -> "HOG":
        """HOG then ``weight @ descriptor + bias`` (weight of shape (embedding_dim, descriptor_dim))."""
        module = cls(embedding_dim=weight.shape[0], **settings)
        if weight.shape[1] != module.descriptor_dim:
            raise ValueError(f"`weight` takes {weight.shape[1]} values; these HOG settings give {module.descriptor_dim}.")
        _set_affine(module.head, weight, bias)
        return module

    def descriptors(self, x: torch.Tensor) -> torch.Tensor:
        """(batch_size, descriptor_dim) HOG descriptors of single-channel images (batch_size, 1, height, width)."""
        image = x[:, 0]
        rows = F.pad(image[:, 2:, :] - image[:, :-2, :], (0, 0, 1, 1))
        cols = F.pad(image[:, :, 2:] - image[:, :, :-2], (1, 1, 0, 0))
        magnitude = torch.sqrt(rows * rows + cols * cols)
        flip = (rows < 0) | ((rows == 0) & (cols < 0))  # unsigned orientation: fold the gradient into [0, 180) degrees
        rows, cols = torch.where(flip, -rows, rows), torch.where(flip, -cols, cols)
        # the angle is at or past edge e when sin(angle - e) >= 0, i.e. rows cos e - cols sin e >= 0
        past = (rows[..., None] * self.edges[0] - cols[..., None] * self.edges[1]) >= 0
        bins = past.sum(-1)  # (batch, height, width) in 0..orientations-1
        votes = F.one_hot(bins, self.orientations).to(magnitude.dtype) * magnitude[..., None]
        height, width = self.cells[0] * self.cell, self.cells[1] * self.cell
        cells = F.avg_pool2d(votes[:, :height, :width].permute(0, 3, 1, 2), self.cell)  # (batch, orientations, cell rows, cell cols)
        across, down = self.cells[1] - self.block + 1, self.cells[0] - self.block + 1
        blocks = torch.stack([torch.stack([cells[:, :, r : r + down, c : c + across] for c in range(self.block)], -1)
                              for r in range(self.block)], -2)  # (batch, orientations, down, across, block row, block col)
        blocks = blocks.permute(0, 2, 3, 4, 5, 1)  # (batch, down, across, block row, block col, orientations)
        eps, within = 1e-5, (3, 4, 5)
        blocks = blocks / torch.sqrt((blocks * blocks).sum(within, keepdim=True) + eps**2)
        blocks = torch.clamp(blocks, max=0.2)
        blocks = blocks / torch.sqrt((blocks * blocks).sum(within, keepdim=True) + eps**2)
        return torch.sqrt(blocks.flatten(1)) if self.root else blocks.flatten(1)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.descriptors(x))

    @property
    def embedding_dim(self) -> int:
        return self._dim


class FlipAverage(EmbeddingNet):
    """Another embedder's features averaged over the image and its mirror image (left-right flip), before the optional
    L2 normalisation: a face looks the same mirrored, and the average is steadier than either (test-time augmentation
    as one module, so it is saved, loaded and exported like any other)."""

    name = "flip-average"

    def __init__(self, inner: str, inner_config: dict[str, Any], *, normalize: bool = False):
        super().__init__(inner=inner, inner_config=dict(inner_config), normalize=normalize)
        self.inner = build_embedder(inner, **inner_config)
        if self.inner.normalize:
            raise ValueError("the embedder inside a flip average must not normalise; normalise the average instead (normalize=True).")

    @classmethod
    def around(cls, embedder: EmbeddingNet) -> "FlipAverage":
        """The flip average of ``embedder`` (its weights copied), normalised after averaging where ``embedder`` normalised."""
        module = cls(embedder.name, {**embedder.config, "normalize": False}, normalize=embedder.normalize)
        module.inner.load_state_dict(embedder.state_dict())
        return module.train(embedder.training)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        return (self.inner.features(x) + self.inner.features(x.flip(-1))) / 2

    @property
    def embedding_dim(self) -> int:
        return self.inner.embedding_dim


ARCHITECTURES: dict[str, type[EmbeddingNet]] = {cls.name: cls for cls in (Pixels, LinearEmbedder, ColourHistogram, MLP, Conv4, SmallResNet, HOG, FlipAverage)}


def build_embedder(name: str, **config: Any) -> EmbeddingNet:
    """The embedding network ``name`` ('pixels', 'linear', 'histogram', 'mlp', 'conv4', 'resnet', 'hog' or 'flip-average') built from its
    ``config``."""
    if name not in ARCHITECTURES:
        raise ValueError(f"`architecture` must be one of {', '.join(map(repr, ARCHITECTURES))}; got {name!r}.")
    if name == "conv4" and "hidden" in config:  # model files written before conv-4's width had its own name
        config["width"] = config.pop("hidden")
    return ARCHITECTURES[name](**config)
