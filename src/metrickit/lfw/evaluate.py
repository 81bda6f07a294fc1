"""Score LFW models the way the protocol reports them.

One View 2 experiment: accuracy of the test fold's 600 pairs at the model's threshold (set on its calibration fold),
ROC AUC and EER. Over the 10 folds: mean accuracy and its standard error (sample sd / sqrt(10)), mean AUC and EER,
the mean ROC curve (TAR averaged over the folds at each FAR of a common grid), and TAR at FAR 1% over the pooled 3,000
mismatched pairs, each fold's distances divided by its threshold so that the pooled scores share one scale.

Before scoring, a model's record is checked: a View 1 model never scores View 2 (the views share 2,465 people), a fold
model scores only its own test fold, and no person it trained on may appear in the pairs it scores.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from metrickit.datasets.labeled import LabeledSet
from metrickit.datasets.lfw import PairList
from metrickit.evaluation.verification import equal_error_rate, roc_auc, roc_curve, tar_at_far, tar_at_fars
from metrickit.lfw.train import pair_distances

__all__ = ["FAR_GRID", "check_may_score", "fold_roc", "score_pairs", "summarize_folds"]

FAR_GRID = np.concatenate([[0.0], np.logspace(-3, 0, 61)])


def check_may_score(model, data: LabeledSet, pairs: PairList, view: str) -> None:
    """Raise unless ``model`` may be scored on ``pairs`` of ``view`` (see the module docstring)."""
    info = model.info
    if info.get("dataset") != "lfw" or "experiment" not in info:
        raise ValueError("this model was not trained by the LFW protocol (`metrickit verify train --dataset lfw`); it has no LFW record.")
    trained_view = info["experiment"]["view"]
    if trained_view != view:
        raise ValueError(f"this model was trained for {trained_view}; it cannot be scored on {view} "
                         "(View 1 and View 2 share 2,465 people, and View 1 is for development only).")
    folds = sorted(set(np.unique(pairs.fold).tolist()))
    if view == "view2" and folds != (info["experiment"]["test_folds"] or []):
        raise ValueError(f"this model's test fold is {info['experiment']['test_folds']}; asked to score folds {folds}.")
    seen = set(info.get("trained_people", [])) & set(pairs.people(data))
    if seen:
        raise ValueError(f"the model trained on {len(seen)} of the people it would be scored on (e.g. {sorted(seen)[:3]}).")


def score_pairs(model, data: LabeledSet, pairs: PairList, view: str) -> dict[str, Any]:
    """Distances of ``pairs`` under ``model`` (after :func:`check_may_score`) and their scores."""
    check_may_score(model, data, pairs, view)
    distances = pair_distances(model.embed, data, pairs)
    genuine, impostor = pairs.split(distances)
    eer, _ = equal_error_rate(genuine, impostor)
    result = {"roc_auc": roc_auc(genuine, impostor), "eer": eer, "n_pairs": len(pairs), "threshold": model.threshold,
              "distances": distances.tolist(), "same": pairs.same.tolist()}
    if model.threshold is not None:
        result["accuracy"] = float(((distances <= model.threshold) == pairs.same).mean())
    return result


def fold_roc(fold: dict[str, Any]) -> tuple[np.ndarray, np.ndarray]:
    """``(far, tar)`` of one result of :func:`score_pairs`, at every operating point."""
    distances, same = np.asarray(fold["distances"]), np.asarray(fold["same"], dtype=bool)
    return roc_curve(distances[same], distances[~same])[:2]


def summarize_folds(folds: list[dict[str, Any]]) -> dict[str, Any]:
    """The View 2 report over fold results of :func:`score_pairs` (see the module docstring)."""
    accuracies = np.array([f["accuracy"] for f in folds])
    curves = []
    scaled_genuine, scaled_impostor = [], []
    for fold in folds:
        curves.append(tar_at_fars(*fold_roc(fold), FAR_GRID))
        distances, same = np.asarray(fold["distances"]), np.asarray(fold["same"], dtype=bool)
        scaled = distances / fold["threshold"] if fold["threshold"] else distances
        scaled_genuine.append(scaled[same])
        scaled_impostor.append(scaled[~same])
    genuine, impostor = np.concatenate(scaled_genuine), np.concatenate(scaled_impostor)
    return {"n_folds": len(folds), "accuracy_mean": float(accuracies.mean()),
            "accuracy_se": float(accuracies.std(ddof=1) / np.sqrt(len(folds))) if len(folds) > 1 else None,
            "accuracies": accuracies.tolist(), "roc_auc_mean": float(np.mean([f["roc_auc"] for f in folds])),
            "eer_mean": float(np.mean([f["eer"] for f in folds])), "pooled_roc_auc": roc_auc(genuine, impostor),
            "pooled_eer": equal_error_rate(genuine, impostor)[0], "tar_at_far_1pct_pooled": tar_at_far(genuine, impostor, 0.01),
            "n_impostor_pooled": len(impostor), "mean_roc": {"far": FAR_GRID.tolist(), "tar": np.mean(curves, axis=0).tolist()}}
