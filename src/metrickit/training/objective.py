"""The objective every deep method trains with: a loss, its miner, the loss's own parameters (a class head or
proxies), an optional cross-batch memory and, for self-supervised losses, the views each batch is turned into."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch import nn

from metrickit.fewshot.protonet import prototypical_loss
from metrickit.losses import (
    ArcFaceLoss,
    ContrastiveLoss,
    CosFaceLoss,
    MultiSimilarityLoss,
    NTXentLoss,
    ProxyAnchorLoss,
    SoftmaxLoss,
    SubCenterArcFaceLoss,
    SupConLoss,
    TripletMarginLoss,
)
from metrickit.miners import BatchHardMiner, MultiSimilarityMiner, RandomTripletMiner, SemiHardMiner
from metrickit.samplers import Episode
from metrickit.training.config import ObjectiveConfig
from metrickit.training.memory import CrossBatchMemory
from metrickit.training.views import ImageViews

__all__ = ["Objective", "build_loss"]


def build_loss(config: ObjectiveConfig, embedding_dim: int, n_classes: int) -> nn.Module | None:
    """The configured loss (None for Prototypical Networks, which the objective computes from the episode)."""
    name, margin, scale, temperature = config.loss, config.margin_value, config.scale_value, config.temperature_value
    if name == "triplet":
        fused = config.miner_value if config.miner_value in ("all", "semihard") else "all"
        return TripletMarginLoss(margin, squared=config.squared, triplets=fused)
    builders = {
        "contrastive": lambda: ContrastiveLoss(margin),
        "softmax": lambda: SoftmaxLoss(n_classes, embedding_dim),
        "arcface": lambda: ArcFaceLoss(n_classes, embedding_dim, margin, scale),
        "cosface": lambda: CosFaceLoss(n_classes, embedding_dim, margin, scale),
        "subcenter-arcface": lambda: SubCenterArcFaceLoss(n_classes, embedding_dim, margin, scale),
        "proxy-anchor": lambda: ProxyAnchorLoss(n_classes, embedding_dim, margin, scale),
        "multi-similarity": lambda: MultiSimilarityLoss(beta=scale, base=margin),
        "supcon": lambda: SupConLoss(temperature),
        "ntxent": lambda: NTXentLoss(temperature),
        "protonet": lambda: None,
    }
    return builders[name]()


def _build_miner(config: ObjectiveConfig, seed: int) -> nn.Module | None:
    margin, squared = config.margin_value, config.squared
    return {
        "hard": lambda: BatchHardMiner(squared=squared),
        "semihard-facenet": lambda: SemiHardMiner(margin, variant="facenet", squared=squared),
        "random": lambda: RandomTripletMiner(seed=seed, squared=squared),
        "multi-similarity": lambda: MultiSimilarityMiner(),
    }.get(config.miner_value, lambda: None)()  # 'all' and 'semihard' need no miner: the loss runs them fused


class Objective(nn.Module):
    """The configured loss on a batch's embeddings and class codes, returning ``(loss, progress figure)``.

    The figure is the fraction of active tuples for pair and triplet losses and the batch accuracy for losses with a
    class head and for Prototypical Networks (``progress_name`` says which). Parameters the loss owns train at
    ``learning_rate_scale`` times the loop's learning rate. With ``config.xbm``, the batch is also scored against a
    cross-batch memory of earlier batches (then pushed into it). A loss that learns from views (NT-Xent) gets
    :attr:`views`, which the loop applies to each batch's inputs; it needs images (``input_shape`` (C, H, W)).
    Prototypical Networks need the ``episode`` layout of each batch.
    """

    def __init__(self, config: ObjectiveConfig, embedding_dim: int, n_classes: int, seed: int = 0, *,
                 input_shape: tuple[int, ...] | None = None, episode: Episode | None = None):
        super().__init__()
        settings = config.settings
        if settings.views and (input_shape is None or len(input_shape) != 3):
            raise ValueError(f"loss {config.loss!r} learns from two augmented views of each image, and no view pipeline exists for "
                             f"inputs of shape {input_shape} (features): use images, or another loss.")
        if config.loss == "protonet" and episode is None:
            raise ValueError("loss 'protonet' trains on episodes: use `metrickit fewshot train`.")
        self.kind = config.loss
        self.loss = build_loss(config, embedding_dim, n_classes)
        self.miner = _build_miner(config, seed)
        self.memory = CrossBatchMemory(config.xbm, embedding_dim, warmup=config.xbm_warmup) if config.xbm else None
        self.views = ImageViews() if settings.views else None
        self.episode = episode
        self.classifies = settings.head or config.loss == "protonet"
        self.progress_name = "train_accuracy" if self.classifies else "active_fraction"
        own = getattr(self.loss, "learning_rate_scale", 1.0)
        self.learning_rate_scale = float(config.head_lr_scale) if config.head_lr_scale is not None else own

    def forward(self, embeddings: torch.Tensor, codes: torch.Tensor) -> tuple[torch.Tensor, float | None]:
        if self.episode is not None:
            return self._prototypical(embeddings)
        if self.classifies:  # the loss records its batch accuracy as it scores the batch
            return self.loss(embeddings, codes), self.loss.accuracy
        loss = self._tuples(embeddings, codes)
        if self.memory is not None:
            if self.memory.ready:  # a copy: the push below overwrites the memory in place, and backward reads the references
                ref, ref_codes = self.memory.references()
                loss = loss + self._tuples(embeddings, codes, ref.clone(), ref_codes.clone())
            self.memory.push(embeddings, codes)
        return loss, self.loss.active_fraction

    def _tuples(self, embeddings: torch.Tensor, codes: torch.Tensor, ref: torch.Tensor | None = None,
                ref_codes: torch.Tensor | None = None) -> torch.Tensor:
        """The pair or triplet loss within the batch, or against references (mined there too)."""
        against: dict[str, Any] = {} if ref is None else {"ref_embeddings": ref.to(embeddings.dtype), "ref_labels": ref_codes}
        indices = self.miner(embeddings, codes, *against.values()) if self.miner is not None else None
        if indices is not None:
            return self.loss(embeddings, codes, indices=indices, **against)
        return self.loss(embeddings, codes, **against)

    def _prototypical(self, embeddings: torch.Tensor) -> tuple[torch.Tensor, float]:
        cut, n_way = self.episode, int(self.episode.support_labels.max()) + 1
        loss, accuracy = prototypical_loss(embeddings[cut.support], torch.from_numpy(np.asarray(cut.support_labels)),
                                           embeddings[cut.query], torch.from_numpy(np.asarray(cut.query_labels)), n_way)
        return loss, float(accuracy)
