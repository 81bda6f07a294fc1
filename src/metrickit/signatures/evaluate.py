"""SVC2004's protocol run end to end for a distance between signatures: folds, trials, EERs, a global threshold.

A method is a function from a fold's signatures (a :class:`~metrickit.datasets.labeled.LabeledSet` of trajectories)
to their (n, n) distance matrix, of which only the rows of genuine S1-S10 (the enrolment pool) are read. Each test
fold's global threshold is calibrated on the trials of the next fold's writers (validation writers) and applied to
the test fold; a learned method must not have trained on either (:func:`run_protocol` checks what it is told).
"""

from __future__ import annotations

from typing import Any, Callable, Sequence

import numpy as np

from metrickit.datasets.labeled import LabeledSet
from metrickit.datasets.trajectories import Trajectory
from metrickit.signatures.dtw import DEFAULT_WINDOW, dtw_cross_distances
from metrickit.signatures.features import signature_features
from metrickit.signatures.protocol import ENROLMENT_POOL, calibrated_threshold, evaluate_trials, rates_at_threshold, svc_folds, svc_trials

__all__ = ["dtw_method", "euclidean_resampled_method", "features_of", "resample", "run_protocol"]

Method = Callable[[LabeledSet], np.ndarray]


def features_of(data: LabeledSet) -> list[np.ndarray]:
    """Each trajectory's per-point features (:func:`~metrickit.signatures.features.signature_features`)."""
    return [signature_features(Trajectory(points.astype(np.float64), data.channels)) for points in data.sequences()]


def enrolment_rows(data: LabeledSet) -> np.ndarray:
    """Positions of the genuine S1-S10: the only rows of a distance matrix the protocol reads."""
    return np.flatnonzero(~data.extra["forged"] & np.isin(data.extra["sample"], ENROLMENT_POOL))


def dtw_method(*, window: int = DEFAULT_WINDOW, transform: np.ndarray | None = None) -> Method:
    """DTW on per-point features (with a learned local Mahalanobis ``transform`` if given)."""

    def distances(data: LabeledSet) -> np.ndarray:
        features, rows = features_of(data), enrolment_rows(data)
        matrix = np.full((len(features), len(features)), np.nan)
        matrix[rows] = dtw_cross_distances([features[r] for r in rows], features, window=window, transform=transform)
        return matrix

    return distances


def resample(sequence: np.ndarray, length: int) -> np.ndarray:
    """``sequence`` (n, features) linearly interpolated at ``length`` evenly spaced points of its sample index."""
    positions = np.linspace(0, len(sequence) - 1, length)
    base = np.arange(len(sequence))
    return np.stack([np.interp(positions, base, column) for column in sequence.T], axis=1)


def euclidean_resampled_method(length: int = 64) -> Method:
    """Euclidean distance between the per-point features resampled to ``length`` points (no warping)."""

    def distances(data: LabeledSet) -> np.ndarray:
        from metrickit.distances.functional import euclidean_distances

        flat = np.stack([resample(f, length).ravel() for f in features_of(data)])
        return euclidean_distances(flat, flat)

    return distances


def run_protocol(data: LabeledSet, method: Method, *, n_folds: int = 3, n_trials: int = 10, seed: int = 0,
                 trained_on: Sequence[Sequence[str]] | None = None) -> dict[str, Any]:
    """Every fold as test fold: per-user/trial EERs (skilled, random) and the global threshold's error rates.
    ``trained_on[k]``: the writers the method for test fold k learned from (refused if they meet its test or
    validation writers)."""
    users = sorted(set(data.labels.astype(str).tolist()), key=lambda u: (len(u), u))
    folds = svc_folds(users, n_folds)
    rows_by_fold = []
    for fold in folds:
        part = data.of(fold)
        trials = svc_trials(part.labels, part.extra["sample"], part.extra["forged"], fold, n_trials=n_trials, seed=seed)
        rows_by_fold.append(evaluate_trials(method(part), trials))
    results = []
    for k, fold in enumerate(folds):
        validation = folds[(k + 1) % n_folds]
        if trained_on is not None:
            leaked = sorted(set(trained_on[k]) & (set(fold) | set(validation)))
            if leaked:
                raise ValueError(f"test fold {k}: the method trained on {leaked[:5]}, which are its test or validation writers.")
        threshold = calibrated_threshold(rows_by_fold[(k + 1) % n_folds])
        rows = rows_by_fold[k]
        per_trial = [{"trial": t, "eer_skilled": float(np.mean([r["eer_skilled"] for r in rows if r["trial"] == t])),
                      "eer_random": float(np.mean([r["eer_random"] for r in rows if r["trial"] == t]))} for t in range(n_trials)]
        results.append({"fold": k, "test_writers": fold, "validation_writers": validation, "per_trial": per_trial,
                        "per_user": _per_user(rows), "global_threshold": rates_at_threshold(rows, threshold)})
    values = {kind: [t[f"eer_{kind}"] for r in results for t in r["per_trial"]] for kind in ("skilled", "random")}
    summary = {f"eer_{kind}": {"mean": float(np.mean(v)), "sd": float(np.std(v, ddof=1))} for kind, v in values.items()}
    for key in ("frr", "far_skilled", "far_random"):
        summary[f"global_{key}"] = float(np.mean([r["global_threshold"][key] for r in results]))
    return {"folds": results, "summary": summary, "n_trials": n_trials, "seed": seed}


def _per_user(rows: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    users = sorted({r["user"] for r in rows}, key=lambda u: (len(u), u))
    return [{"user": user, "eer_skilled": float(np.mean([r["eer_skilled"] for r in rows if r["user"] == user])),
             "eer_random": float(np.mean([r["eer_random"] for r in rows if r["user"] == user]))} for user in users]
