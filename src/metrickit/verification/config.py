"""The config of ``metrickit verify train``: the method and the shared sections, with verification's defaults.
Imports no torch."""

from __future__ import annotations

from dataclasses import dataclass, field

from metrickit.linear.pca_lmnn import PcaLmnnConfig
from metrickit.training.config import DEEP_LOSSES, PROTOCOL_METHODS, BatchConfig, EmbedderConfig, LoopConfig, MethodConfig, ObjectiveConfig

__all__ = ["DEEP_METHODS", "METHODS", "VerifyConfig"]

DEEP_METHODS, METHODS = DEEP_LOSSES, PROTOCOL_METHODS


@dataclass(frozen=True)
class VerifyConfig(MethodConfig):
    """``method``: 'euclidean' (pixels), 'lmnn' (PCA + LMNN, section ``lmnn``) or a deep loss (conv-4, 128-d, trained on
    8 x 4 identity batches; triplets semi-hard). A deep method is the objective's loss."""

    method: str = "triplet"
    embedder: EmbedderConfig = field(default_factory=lambda: EmbedderConfig(embedding_dim=128))
    objective: ObjectiveConfig = field(default_factory=ObjectiveConfig)
    batches: BatchConfig = field(default_factory=lambda: BatchConfig(n_classes_per_batch=8, n_per_class=4))
    loop: LoopConfig = field(default_factory=lambda: LoopConfig(epochs=20, batches_per_epoch=25))
    lmnn: PcaLmnnConfig = field(default_factory=PcaLmnnConfig)

    def __post_init__(self) -> None:
        self._resolve_objective()
