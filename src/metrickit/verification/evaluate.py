"""Score fold models on their test identities (never seen in training) and summarise over folds.

For each fold model: all genuine and all impostor pairs of the test identities, scored at the model's
calibrated threshold (:func:`~metrickit.evaluation.verification.verification_report`). For signatures, also
the SVC2004-style per-user EER: references are the user's genuine S1-S5 (session 1); each test signature
scores its mean distance to them; genuine tests are S11-S20 (session 2), skilled forgeries S21-S40, and
random forgeries the genuine signatures (S1-S20) of the fold's other test users. The EER is computed per
user, for skilled and random forgeries separately, and averaged over users.
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from metrickit.datasets.identities import training_classes
from metrickit.datasets.labeled import LabeledSet
from metrickit.evaluation.summary import mean_sd
from metrickit.evaluation.verification import equal_error_rate, verification_report
from metrickit.verification.train import genuine_impostor_distances

__all__ = ["evaluate_fold", "signature_user_eers", "summarize"]

REFERENCES, GENUINE_TESTS, SKILLED = range(1, 6), range(11, 21), range(21, 41)


def evaluate_fold(model, data: LabeledSet) -> dict[str, Any]:
    """Scores of ``model`` on the test identities its file names (``info['split']['test']``), with the pair distances and
    (for plots, not for JSON) the test embeddings and their labels."""
    fold = model.info.get("split") or model.info.get("fold")  # 'fold': model files written before the one split record
    if not fold or model.threshold is None:
        raise ValueError("this model file records no verification fold and threshold; train it with `metrickit verify train`.")
    if not fold["test"]:
        raise ValueError("this is a final model: it trained on every identity but its validation ones, so no test identity is "
                         "left to score it on; evaluate the run's fold models (fold<k>/model.safetensors).")
    seen = {str(c).removesuffix("/forged") for c in model.training_classes} | set(map(str, fold["val"]))
    leaked = sorted(set(map(str, fold["test"])) & seen, key=str)
    if leaked:
        raise ValueError(f"the model's test identities {leaked[:5]} were among its training or validation identities; "
                         "it cannot be scored on them.")
    test = data.of(fold["test"])
    embeddings = model.embed(test.X).astype(np.float64)
    genuine, impostor = genuine_impostor_distances(embeddings, test)
    result = {"index": fold["index"], "test_identities": fold["test"], "threshold": model.threshold,
              "report": verification_report(genuine, impostor, model.threshold).as_dict(),
              "distances": {"genuine": genuine.tolist(), "impostor": impostor.tolist()}, "embeddings": embeddings, "labels": training_classes(test)}
    if test.extra["forged"].any():
        result["per_user"] = signature_user_eers(embeddings, test)
    return result


def signature_user_eers(embeddings: np.ndarray, data: LabeledSet) -> dict[str, Any]:
    """Per-user EER against skilled and random forgeries (SVC2004 style; see the module docstring), and their means."""
    from metrickit.distances.functional import euclidean_distances

    users = sorted(set(data.labels.tolist()), key=str)
    forged, samples = data.extra["forged"], data.extra["sample"]
    rows = []
    for user in users:
        mine = data.labels == user
        references = mine & np.isin(samples, REFERENCES) & ~forged
        if references.sum() == 0:
            raise ValueError(f"{user} has no genuine reference signatures S1-S5.")
        score = lambda mask: euclidean_distances(embeddings[mask], embeddings[references]).mean(1)  # noqa: E731
        genuine = score(mine & np.isin(samples, GENUINE_TESTS) & ~forged)
        skilled = score(mine & np.isin(samples, SKILLED) & forged)
        random = score(~mine & ~forged)
        rows.append({"user": user, "eer_skilled": equal_error_rate(genuine, skilled)[0], "eer_random": equal_error_rate(genuine, random)[0],
                     "n_genuine": len(genuine), "n_skilled": len(skilled), "n_random": len(random)})
    return {"users": rows, "mean_eer_skilled": float(np.mean([r["eer_skilled"] for r in rows])),
            "mean_eer_random": float(np.mean([r["eer_random"] for r in rows]))}


def summarize(folds: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Mean and sample sd over folds of each score (TAR at a FAR only where every fold reports it)."""
    reports = [f["report"] for f in folds]
    summary = {key: mean_sd([r[key] for r in reports]) for key in ("roc_auc", "eer", "accuracy", "balanced_accuracy", "tar", "far")}
    summary["tar_at_far"] = {far: mean_sd([r["tar_at_far"][far] for r in reports]) for far in reports[0]["tar_at_far"]}
    if all("per_user" in f for f in folds):
        summary["user_eer_skilled"] = mean_sd([f["per_user"]["mean_eer_skilled"] for f in folds])
        summary["user_eer_random"] = mean_sd([f["per_user"]["mean_eer_random"] for f in folds])
    summary["n_folds"] = len(folds)
    return summary
