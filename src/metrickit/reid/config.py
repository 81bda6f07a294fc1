"""The config of ``metrickit reid train``: the method, the person split sizes and the shared sections, with
re-identification's defaults. Imports no torch."""

from __future__ import annotations

from dataclasses import dataclass, field

from metrickit._validation import check_count_fields
from metrickit.linear.pca_lmnn import PcaLmnnConfig
from metrickit.training.config import DEEP_LOSSES, PROTOCOL_METHODS, BatchConfig, EmbedderConfig, LoopConfig, MethodConfig, ObjectiveConfig

__all__ = ["BINS", "DEEP_METHODS", "METHODS", "ReidConfig", "STRIPES"]

DEEP_METHODS, METHODS = DEEP_LOSSES, PROTOCOL_METHODS
STRIPES, BINS = 6, 16  # the LMNN method's features: colour histograms of horizontal stripes, bins per RGB channel


@dataclass(frozen=True)
class ReidConfig(MethodConfig):
    """``method``: 'euclidean' (pixels), 'lmnn' (stripe colour histograms, PCA, LMNN with one target neighbour) or a deep
    loss (conv-4, 128-d, 8 persons x 4 images per batch drawn with replacement, horizontal flips; triplets batch-hard,
    margin 0.3). Each split puts ``n_test`` persons aside for testing and ``n_val`` for validation; the loop's seed is
    the split's."""

    method: str = "triplet"
    n_test: int = 50
    n_val: int = 10
    embedder: EmbedderConfig = field(default_factory=lambda: EmbedderConfig(embedding_dim=128))
    objective: ObjectiveConfig = field(default_factory=ObjectiveConfig)
    batches: BatchConfig = field(default_factory=lambda: BatchConfig(n_classes_per_batch=8, n_per_class=4, sample_with_replacement=True))
    loop: LoopConfig = field(default_factory=lambda: LoopConfig(epochs=20, batches_per_epoch=20, augment="flip"))
    lmnn: PcaLmnnConfig = field(default_factory=lambda: PcaLmnnConfig(n_neighbors=1))

    LOSS_DEFAULTS = {"triplet": {"miner": "hard", "margin": 0.3}}

    def __post_init__(self) -> None:
        self._resolve_objective()  # checks the method first
        check_count_fields(self, ("n_test", "n_val"))
