"""Person re-identification on the Market-1501 protocol: person splits, training with validation persons, query/gallery
evaluation (CMC, mAP, optional k-reciprocal re-ranking) (needs the ``torch`` extra)."""

from metrickit.reid.run import evaluate_reid_runs, run_reid_training
from metrickit.reid.train import METHODS, ReidConfig, ReidSplit, split_persons, train_split, validation_map

__all__ = ["METHODS", "ReidConfig", "ReidSplit", "evaluate_reid_runs", "run_reid_training", "split_persons", "train_split",
           "validation_map"]
