"""The config of a few-shot training run (``metrickit fewshot train``): episode shapes, validation episodes, and the
shared sections with few-shot defaults. Imports no torch."""

from __future__ import annotations

from dataclasses import dataclass, field

from metrickit._config import Config
from metrickit._validation import check_count_fields
from metrickit.training.config import LOSSES, EmbedderConfig, LoopConfig, ObjectiveConfig

__all__ = ["METHODS", "EpisodeConfig", "FewShotConfig", "ValidationEpisodes"]

METHODS = LOSSES  # Prototypical Networks, and every other loss as a baseline on the same episodes' images


@dataclass(frozen=True)
class EpisodeConfig(Config):
    """Training episodes: ``n_way`` classes, ``n_shot`` support and ``n_query`` query images each."""

    n_way: int = 60
    n_shot: int = 5
    n_query: int = 5

    def __post_init__(self) -> None:
        check_count_fields(self, ("n_way", "n_shot", "n_query"))


@dataclass(frozen=True)
class ValidationEpisodes(Config):
    """The fixed episode file that scores each epoch on the validation classes (nearest prototype)."""

    val_n_way: int = 5
    val_n_shot: int = 1
    val_n_query: int = 15
    val_episodes: int = 200

    def __post_init__(self) -> None:
        check_count_fields(self, ("val_n_way", "val_n_shot", "val_n_query", "val_episodes"))


@dataclass(frozen=True)
class FewShotConfig(Config):
    """Method (``loss``: 'protonet', or any other loss as a baseline on the same images), episodes and budget.

    The loop halves Adam's learning rate every ``lr_halve_every`` episodes, as the paper does; the embedder is
    conv-4 without a projection (64-d on 28 x 28 Omniglot).
    """

    objective: ObjectiveConfig = field(default_factory=lambda: ObjectiveConfig(loss="protonet"))
    episodes: EpisodeConfig = field(default_factory=EpisodeConfig)
    validation: ValidationEpisodes = field(default_factory=ValidationEpisodes)
    embedder: EmbedderConfig = field(default_factory=lambda: EmbedderConfig(architecture="conv4", embedding_dim=None))
    loop: LoopConfig = field(default_factory=lambda: LoopConfig(scheduler="step"))

