"""Face verification on Labeled Faces in the Wild under its own protocol: View 1 for development, View 2's ten
person-disjoint folds for the report, image-restricted and unrestricted settings (needs the ``torch`` extra)."""

from metrickit._lazy import lazy_attributes

_HOMES = {"LFW_METHODS": "config", "LfwConfig": "config", "Experiment": "protocol", "training_data": "protocol",
          "view1_experiment": "protocol", "view2_experiments": "protocol", "final_experiment": "protocol",
          "best_accuracy_threshold": "protocol", "train_experiment": "train", "pair_distances": "train", "kissme": "train",
          "score_pairs": "evaluate", "summarize_folds": "evaluate", "run_lfw_training": "run", "evaluate_lfw_runs": "run"}
__all__ = sorted(_HOMES)
__getattr__ = lazy_attributes(__name__, _HOMES)
