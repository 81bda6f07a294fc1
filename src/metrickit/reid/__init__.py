"""Person re-identification on the Market-1501 protocol: person splits, training with validation persons, query/gallery
evaluation (CMC, mAP, optional k-reciprocal re-ranking) (needs the ``torch`` extra)."""

from metrickit._lazy import lazy_attributes

_HOMES = {"METHODS": "config", "ReidConfig": "config", "evaluate_reid_runs": "run", "run_reid_training": "run", 
          "final_split": "train", "split_persons": "train", "train_split": "train", "validation_map": "train"}
__all__ = sorted(_HOMES)
__getattr__ = lazy_attributes(__name__, _HOMES)
