"""Nested evaluation of verification on unseen identities: every choice is made without the identities it is scored on.

Outer cross-identity folds (ORL: 6 folds of 5) put test identities aside. In each outer fold, only the other
identities choose among a method's candidate settings, by inner cross-identity folds (the candidate with the lowest
mean EER on the inner folds' test identities wins; ties go to the first listed). The chosen setting then trains on
those identities as a final model would (seeded validation identities choose its epoch and set its threshold) and is
scored once on the outer test identities. So the outer scores estimate the whole procedure, choice included, on new
people; a method without settings to choose (Euclidean on pixels) skips the inner folds.

Results are cached per training (``cache`` folder, one JSON per outer fold, candidate and inner fold, reused only for
the same config and split), so an interrupted run resumes where it stopped.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

import numpy as np

from metrickit.datasets.identity_split import IdentitySplit
from metrickit.datasets.labeled import LabeledSet
from metrickit.runs import cached_json
from metrickit.evaluation.verification import equal_error_rate
from metrickit.verification.config import VerifyConfig
from metrickit.verification.folds import final_fold, make_folds

__all__ = ["identity_eers", "nested_verification", "nested_splits", "paired_difference"]


def nested_splits(identities, n_outer: int, n_inner: int, n_val: int, seed: int = 0) -> list[tuple[IdentitySplit, list[IdentitySplit], IdentitySplit]]:
    """Per outer fold: ``(outer, inner folds, final split)``. The inner folds and the final split use only the outer
    fold's non-test identities, and the final split keeps the outer test identities as its test set (checked)."""
    out = []
    for outer in make_folds(identities, n_outer, n_val, seed):
        rest = sorted({*outer.val, *outer.fit}, key=str)
        inner = make_folds(rest, n_inner, n_val, seed=seed + 1000 * (outer.index + 1))
        chosen = final_fold(rest, n_val, seed=seed + outer.index)
        final = IdentitySplit(chosen.seed, list(outer.test), chosen.val, chosen.fit, index=outer.index)
        held_out = set(outer.test)
        for split in inner:
            if held_out & {*split.test, *split.val, *split.fit}:
                raise AssertionError(f"outer fold {outer.index}: an inner fold uses outer test identities")
        out.append((outer, inner, final))
    return out


def identity_eers(embeddings: np.ndarray, labels: np.ndarray) -> list[dict[str, Any]]:
    """Per identity: the EER of its genuine pairs (two of its images) against its impostor pairs (one of its images,
    one of another identity's), from the test embeddings; the identities that are hardest to verify stand out."""
    from metrickit.distances.functional import euclidean_distances

    distances = euclidean_distances(embeddings, embeddings)
    rows = []
    for identity in sorted(set(labels.tolist()), key=str):  # one block per identity
        mine = labels == identity
        block = distances[mine]
        upper = np.triu(np.ones((mine.sum(), mine.sum()), dtype=bool), 1)
        genuine, impostor = block[:, mine][upper], block[:, ~mine].ravel()
        rows.append({"identity": identity, "eer": equal_error_rate(genuine, impostor)[0], "n_genuine": int(genuine.size),
                     "n_impostor": int(impostor.size)})
    return rows


def paired_difference(a: Sequence[float], b: Sequence[float]) -> dict[str, Any]:
    """``a - b`` per repeat (paired: the same outer folds), with its mean, sample sd and standard error of the mean."""
    diff = np.asarray(a, dtype=float) - np.asarray(b, dtype=float)
    if diff.size < 2:
        raise ValueError("a paired difference needs at least two repeats.")
    sd = float(diff.std(ddof=1))
    return {"per_repeat": diff.tolist(), "mean": float(diff.mean()), "sd": sd, "se": sd / float(np.sqrt(diff.size))}


def _train_and_score(data: LabeledSet, split: IdentitySplit, config: VerifyConfig, quiet: bool, per_identity: bool,
                     cache: Path | None) -> dict[str, Any]:
    """Train on ``split`` and score its test identities; reused from ``cache`` if a run with this config and split wrote it."""
    return cached_json(cache, lambda: _fresh_score(data, split, config, quiet, per_identity),
                       matching={"config": config.as_dict(), "split": split.as_dict()})


def _fresh_score(data: LabeledSet, split: IdentitySplit, config: VerifyConfig, quiet: bool, per_identity: bool) -> dict[str, Any]:
    from metrickit.verification.evaluate import evaluate_fold
    from metrickit.verification.train import train_fold

    model, record = train_fold(data, split, config, quiet=quiet)
    scored = evaluate_fold(model, data)
    result = {"config": config.as_dict(), "split": split.as_dict(), "threshold": record["threshold"], "train_seconds": record["train_seconds"],
              "best_epoch": record.get("best_epoch"), "report": scored["report"]}
    if per_identity:
        result["identities"] = identity_eers(scored["embeddings"], np.asarray(scored["labels"]))
    return result


def nested_verification(
    data: LabeledSet,
    candidates: Mapping[str, VerifyConfig],
    *,
    n_outer: int = 6,
    n_inner: int = 3,
    n_val: int = 5,
    seed: int = 0,
    cache: str | os.PathLike | None = None,
    quiet: bool = True,
    log: Callable[[str], None] = lambda line: None,
) -> dict[str, Any]:
    """Nested cross-identity evaluation of one method over its ``candidates`` (name -> config); see the module docstring.

    Returns per outer fold the inner scores of every candidate, the chosen one and its outer report (with per-identity
    EERs), and the mean ± sd of the outer scores.
    """
    from metrickit.evaluation.summary import mean_sd

    if not candidates:
        raise ValueError("`candidates` must name at least one setting.")
    root = Path(cache) if cache is not None else None
    folds = []
    for outer, inner, final in nested_splits(data.labels, n_outer, n_inner, n_val, seed):
        scores: dict[str, Any] = {}
        if len(candidates) > 1:
            for name, config in candidates.items():
                runs = [_train_and_score(data, split, config, quiet, False, root and root / f"outer{outer.index}" / name / f"inner{split.index}.json")
                        for split in inner]
                scores[name] = {"eer": float(np.mean([r["report"]["eer"] for r in runs])), "per_fold": [r["report"]["eer"] for r in runs]}
                log(f"outer fold {outer.index}: {name} inner EER {scores[name]['eer']:.2%}")
        chosen = min(candidates, key=lambda name: scores[name]["eer"]) if scores else next(iter(candidates))
        result = _train_and_score(data, final, candidates[chosen], quiet, True, root and root / f"outer{outer.index}" / chosen / "final.json")
        log(f"outer fold {outer.index}: {chosen} chosen; outer AUC {result['report']['roc_auc']:.4f}, EER {result['report']['eer']:.2%}")
        folds.append({"index": outer.index, "test_identities": list(outer.test), "inner": scores, "chosen": chosen, **result})
    reports = [f["report"] for f in folds]
    summary = {key: mean_sd([r[key] for r in reports]) for key in ("roc_auc", "eer", "accuracy", "balanced_accuracy")}
    return {"candidates": {name: config.as_dict() for name, config in candidates.items()}, "n_outer": n_outer, "n_inner": n_inner,
            "n_val": n_val, "seed": seed, "folds": folds, "summary": summary}

