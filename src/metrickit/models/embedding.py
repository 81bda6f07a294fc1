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

__all__ = ["ARCHITECTURES", "Conv4", "EmbeddingNet", "LinearEmbedder", "MLP", "Pixels", "SmallResNet", "build_embedder"]


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
        with torch.no_grad():
            module.linear.weight.copy_(torch.as_tensor(weight, dtype=torch.float32))
            module.linear.bias.copy_(torch.as_tensor(bias, dtype=torch.float32))
        return module

    def features(self, x: torch.Tensor) -> torch.Tensor:
        return self.linear(x.flatten(1))

    @property
    def embedding_dim(self) -> int:
        return self.linear.out_features


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

    Images (batch_size, in_channels, height, width) flatten to ``hidden * (height // 16) * (width // 16)``
    features: 64 for 28 x 28 Omniglot, 1600 for 84 x 84. ``embedding_dim`` adds a linear projection.
    """

    name = "conv4"

    def __init__(
        self,
        in_channels: int = 1,
        hidden: int = 64,
        image_size: Sequence[int] = (28, 28),
        embedding_dim: int | None = None,
        *,
        normalize: bool = False,
    ):
        super().__init__(in_channels=int(in_channels), hidden=int(hidden), image_size=[int(s) for s in image_size], embedding_dim=embedding_dim, normalize=normalize)
        self.body = nn.Sequential(
            _conv_block(int(in_channels), int(hidden)), *(_conv_block(int(hidden), int(hidden)) for _ in range(3))
        )
        flat = int(hidden) * (int(image_size[0]) // 16) * (int(image_size[1]) // 16)
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


ARCHITECTURES: dict[str, type[EmbeddingNet]] = {cls.name: cls for cls in (Pixels, LinearEmbedder, MLP, Conv4, SmallResNet)}


def build_embedder(name: str, **config: Any) -> EmbeddingNet:
    """The embedding network ``name`` ('pixels', 'linear', 'mlp', 'conv4' or 'resnet') built from its ``config``."""
    if name not in ARCHITECTURES:
        raise ValueError(f"`architecture` must be one of {', '.join(map(repr, ARCHITECTURES))}; got {name!r}.")
    return ARCHITECTURES[name](**config)
