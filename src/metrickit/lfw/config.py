"""The config of ``metrickit verify train --dataset lfw``: method, setting, face crop and the shared sections, with LFW's
defaults (each chosen on View 1; bench/lfw.py). Imports no torch."""

from __future__ import annotations

from dataclasses import dataclass, field

from metrickit._config import Config
from metrickit._validation import check_count_fields, validate_choice
from metrickit.training.config import DEEP_LOSSES, BatchConfig, EmbedderConfig, LoopConfig, MethodConfig, ObjectiveConfig

__all__ = ["CLASSIC_METHODS", "IDENTITY_METHODS", "LFW_METHODS", "LfwConfig", "LinearConfig"]

CLASSIC_METHODS = ("euclidean", "pca", "hog-pca", "hog-kissme", "hog-lmnn")
LFW_METHODS = (*CLASSIC_METHODS, *DEEP_LOSSES)
# methods that need identities, so only the unrestricted setting has them (contrastive trains on the given pairs instead)
IDENTITY_METHODS = ("hog-lmnn", *(loss for loss in DEEP_LOSSES if loss != "contrastive"))


@dataclass(frozen=True)
class LinearConfig(Config):
    """The classic pipeline: HOG (``orientations`` bins, ``cell`` pixels a cell, ``block`` cells a block; its square root
    with ``root``), then PCA to
    ``pca_dim`` (whitened when ``whiten``), then KISSME on the pairs or LMNN (``target_neighbors`` target neighbours) on the
    identities."""

    orientations: int = 9
    cell: int = 8
    block: int = 2
    root: bool = True
    pca_dim: int = 100
    whiten: bool = True
    target_neighbors: int = 1

    def __post_init__(self) -> None:
        check_count_fields(self, ("orientations", "cell", "block", "pca_dim", "target_neighbors"))


@dataclass(frozen=True)
class LfwConfig(MethodConfig):
    """``method``: 'euclidean' (pixels), 'pca', 'hog-pca', 'hog-kissme', 'hog-lmnn' (the classic pipeline, section
    ``linear``) or a deep loss (section ``embedder``, trained from scratch). ``setting``: 'restricted' (pair labels only)
    or 'unrestricted' (identities of the training folds' people with at least ``min_images`` images). Faces are cut
    by a ``crop`` x ``crop`` square around the face's centre and resized to ``size`` x ``size``. With ``flip`` every
    model embeds a face as the average of its features and its mirror image's (test-time augmentation)."""

    method: str = "triplet"
    setting: str = "unrestricted"
    crop: int = 120
    size: int = 48
    min_images: int = 2
    flip: bool = True
    linear: LinearConfig = field(default_factory=LinearConfig)
    embedder: EmbedderConfig = field(default_factory=lambda: EmbedderConfig(architecture="conv4", width=32, embedding_dim=128))
    objective: ObjectiveConfig = field(default_factory=ObjectiveConfig)
    batches: BatchConfig = field(default_factory=lambda: BatchConfig(n_classes_per_batch=32, n_per_class=2, sample_with_replacement=False))
    loop: LoopConfig = field(default_factory=lambda: LoopConfig(epochs=10, batches_per_epoch=100, augment="flip"))

    def __post_init__(self) -> None:
        validate_choice(self.setting, "setting", ("restricted", "unrestricted"))
        validate_choice(self.method, "method", LFW_METHODS)
        if self.setting == "restricted" and self.method in IDENTITY_METHODS:
            raise ValueError(f"method {self.method!r} learns from identities, which the image-restricted setting does not give; "
                             f"use --setting unrestricted, or a restricted method ({', '.join(m for m in LFW_METHODS if m not in IDENTITY_METHODS)}).")
        check_count_fields(self, ("crop", "size", "min_images"))
        if self.method in DEEP_LOSSES and self.objective.loss != self.method:
            object.__setattr__(self, "objective", self.objective.with_flat(loss=self.method))
