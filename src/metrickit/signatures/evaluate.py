"""SVC2004's protocol run end to end for a distance between signatures: folds, trials, EERs, a global threshold.

A method is a function from a set of signatures (a :class:`~metrickit.datasets.labeled.LabeledSet` of trajectories)
to their (n, n) distance matrix, of which only the rows of genuine S1-S10 (the enrolment pool) are read. A learner
(``fit``) makes a method from training writers' signatures (genuine and skilled forgeries). For each test fold: the
validation writers are the first half of the next fold, the training writers every other writer; the three groups are
checked disjoint, the learner sees only the training writers, the global threshold is calibrated on the validation
writers' trials (their random forgeries from the other validation writers) and applied to the test fold.
"""

from __future__ import annotations

from typing import Any, Callable, Mapping, Sequence

import numpy as np

from metrickit.datasets.labeled import LabeledSet
from metrickit.datasets.trajectories import Trajectory
from metrickit.signatures.dtw import DEFAULT_WINDOW
from metrickit.signatures.features import signature_features
from metrickit.signatures.protocol import (ENROLMENT_POOL, calibrated_threshold, evaluate_trials, rates_at_threshold, svc_folds,
                                          svc_trials, writers_in_order)

__all__ = ["Method", "choose_on_validation", "dtw_method", "enrolment_rows", "euclidean_resampled_method", "features_of", "resample",
           "run_protocol", "score_writers", "summarise_folds", "writer_layout"]

Method = Callable[[LabeledSet], np.ndarray]


def features_of(data: LabeledSet) -> list[np.ndarray]:
    """Each trajectory's per-point features (:func:`~metrickit.signatures.features.signature_features`)."""
    return [signature_features(Trajectory(points.astype(np.float64), data.channels)) for points in data.sequences()]


def enrolment_rows(data: LabeledSet) -> np.ndarray:
    """Positions of the genuine S1-S10: the only rows of a distance matrix the protocol reads."""
    return np.flatnonzero(~data.extra["forged"] & np.isin(data.extra["sample"], ENROLMENT_POOL))


def dtw_method(*, window: int = DEFAULT_WINDOW, transform: np.ndarray | None = None) -> Method:
    """DTW on per-point features (with a learned local Mahalanobis ``transform`` if given), as a
    :class:`~metrickit.signatures.model.SignatureModel` for whatever channels the signatures have."""
    from metrickit.signatures.model import SignatureModel

    method = "dtw" if transform is None else "dtw-lmnn"
    return lambda data: SignatureModel(method, window, tuple(data.channels), transform)(data)


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


def writer_layout(users: Sequence[str], n_folds: int = 3) -> list[dict[str, list[str]]]:
    """Per test fold: its ``test`` writers, the ``validation`` writers (the first half of the next fold) and the
    ``training`` writers (every other one), checked disjoint."""
    folds = svc_folds(list(users), n_folds)
    layout = []
    for k, fold in enumerate(folds):
        following = folds[(k + 1) % n_folds]
        validation = following[: max(2, len(following) // 2)]
        training = [u for u in users if u not in fold and u not in validation]
        if set(training) & set(fold) or set(training) & set(validation) or set(fold) & set(validation):
            raise AssertionError(f"fold {k}: training, validation and test writers overlap.")
        layout.append({"test": list(fold), "validation": validation, "training": training})
    return layout


def choose_on_validation(candidates: Mapping[str, Callable[[LabeledSet], Method]], data: LabeledSet, training: Sequence[str],
                         validation: Sequence[str], *, n_trials: int = 10, seed: int = 0) -> dict[str, Any]:
    """Fit every candidate on the ``training`` writers; keep the one with the lowest mean skilled EER on the
    ``validation`` writers' trials, and its global threshold (their EER threshold against skilled forgeries)."""
    tried, failed = {}, {}
    for name, learner in candidates.items():
        try:
            method = learner(data.of(training))
        except ValueError as error:  # a setting that cannot learn from these writers (a collapsed metric) is not chosen
            if len(candidates) == 1:
                raise
            failed[name] = str(error)
            continue
        rows = _trial_rows(data.of(validation), validation, method, n_trials, seed)
        tried[name] = {"method": method, "rows": rows, "eer": float(np.mean([r["eer_skilled"] for r in rows]))}
    if not tried:
        raise ValueError(f"every learner failed on the training writers: {failed}")
    chosen = min(tried, key=lambda name: tried[name]["eer"])
    return {"chosen": chosen, "method": tried[chosen]["method"], "threshold": calibrated_threshold(tried[chosen]["rows"]),
            "validation_eer_skilled": {name: t["eer"] for name, t in tried.items()}, "failed": failed}


def score_writers(data: LabeledSet, writers: Sequence[str], method: Method, threshold: float, *, n_trials: int = 10,
                  seed: int = 0) -> dict[str, Any]:
    """The protocol on ``writers``: per-trial and per-user EERs (skilled, random) and the rates at ``threshold``."""
    rows = _trial_rows(data.of(writers), writers, method, n_trials, seed)
    per_trial = [{"trial": t, "eer_skilled": float(np.mean([r["eer_skilled"] for r in rows if r["trial"] == t])),
                  "eer_random": float(np.mean([r["eer_random"] for r in rows if r["trial"] == t]))} for t in range(n_trials)]
    return {"per_trial": per_trial, "per_user": _per_user(rows), "global_threshold": rates_at_threshold(rows, threshold)}


def summarise_folds(results: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Mean and sd of the skilled and random EERs over every fold's trials; the global threshold's mean rates."""
    values = {kind: [t[f"eer_{kind}"] for r in results for t in r["per_trial"]] for kind in ("skilled", "random")}
    summary = {f"eer_{kind}": {"mean": float(np.mean(v)), "sd": float(np.std(v, ddof=1)) if len(v) > 1 else 0.0} for kind, v in values.items()}
    for key in ("frr", "far_skilled", "far_random"):
        summary[f"global_{key}"] = float(np.mean([r["global_threshold"][key] for r in results]))
    return summary


def run_protocol(data: LabeledSet, fit: Callable[[LabeledSet], Method] | Mapping[str, Callable[[LabeledSet], Method]], *,
                 n_folds: int = 3, n_trials: int = 10, seed: int = 0) -> dict[str, Any]:
    """Every fold as test fold: ``fit`` on the training writers, per-user/trial EERs (skilled, random) on the test fold
    and the error rates of the threshold calibrated on the validation writers. Given several learners by name, each
    fold keeps the one whose validation writers' mean skilled EER is lowest (nested: test writers choose nothing)."""
    candidates = dict(fit) if isinstance(fit, Mapping) else {"": fit}
    users = writers_in_order(data.labels.tolist())
    results = []
    for k, writers in enumerate(writer_layout(users, n_folds)):
        choice = choose_on_validation(candidates, data, writers["training"], writers["validation"], n_trials=n_trials, seed=seed)
        scored = score_writers(data, writers["test"], choice["method"], choice["threshold"], n_trials=n_trials, seed=seed)
        results.append({"fold": k, "test_writers": writers["test"], "validation_writers": writers["validation"],
                        "training_writers": writers["training"], "chosen": choice["chosen"],
                        "validation_eer_skilled": choice["validation_eer_skilled"], "failed": choice["failed"], **scored})
    return {"folds": results, "summary": summarise_folds(results), "n_trials": n_trials, "seed": seed}


def _trial_rows(part: LabeledSet, writers: Sequence[str], method: Method, n_trials: int, seed: int) -> list[dict[str, Any]]:
    trials = svc_trials(part.labels, part.extra["sample"], part.extra["forged"], writers, n_trials=n_trials, seed=seed)
    return evaluate_trials(method(part), trials)


def _per_user(rows: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    users = writers_in_order(r["user"] for r in rows)
    return [{"user": user, "eer_skilled": float(np.mean([r["eer_skilled"] for r in rows if r["user"] == user])),
             "eer_random": float(np.mean([r["eer_random"] for r in rows if r["user"] == user]))} for user in users]
