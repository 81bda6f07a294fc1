"""Verification on identities never seen in training: cross-identity folds, training with a calibrated threshold,
evaluation (ROC AUC, EER, TAR at FAR, SVC2004 per-user EER) and prediction (needs the ``torch`` extra)."""

from metrickit.verification.evaluate import evaluate_fold, signature_user_eers, summarize
from metrickit.verification.folds import FOLDS, Fold, make_folds
from metrickit.verification.predict import predict_pairs, read_pairs
from metrickit.verification.run import evaluate_runs, run_verify_training
from metrickit.verification.train import METHODS, VerifyConfig, pair_distances, train_fold

__all__ = [
    "FOLDS",
    "METHODS",
    "Fold",
    "VerifyConfig",
    "evaluate_fold",
    "evaluate_runs",
    "make_folds",
    "pair_distances",
    "predict_pairs",
    "read_pairs",
    "run_verify_training",
    "signature_user_eers",
    "summarize",
    "train_fold",
]
