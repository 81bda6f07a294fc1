"""Verification on identities never seen in training: cross-identity folds, training with a calibrated threshold,
evaluation (ROC AUC, EER, TAR at FAR, SVC2004 per-user EER) and prediction (needs the ``torch`` extra)."""

from metrickit._lazy import lazy_attributes

_HOMES = {"METHODS": "config", "VerifyConfig": "config", "FOLDS": "folds", "final_fold": "folds", "make_folds": "folds",
          "evaluate_fold": "evaluate", "signature_user_eers": "evaluate", "summarize": "evaluate", "predict_pairs": "predict",
          "read_pairs": "predict", "evaluate_verify_runs": "run", "run_verify_training": "run", "genuine_impostor_distances": "train", "train_fold": "train",
          "identity_eers": "nested", "nested_splits": "nested", "nested_verification": "nested", "paired_difference": "nested"}
__all__ = sorted(_HOMES)
__getattr__ = lazy_attributes(__name__, _HOMES)
