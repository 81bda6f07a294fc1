"""Training of deep embedders: config, loop, exact-resume checkpoints (needs the ``torch`` extra)."""

from metrickit.training.config import TrainConfig, load_config
from metrickit.training.loop import ClassSplit, TrainResult, prepare_classes, train

__all__ = ["ClassSplit", "TrainConfig", "TrainResult", "load_config", "prepare_classes", "train"]
