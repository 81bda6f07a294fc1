"""SVC2004's verification protocol, on any dissimilarity between a fold's signatures.

Per user and trial (10 seeded trials): 5 enrolment references drawn from the user's genuine S1-S10; probes are the
user's genuine S11-S20, the 20 skilled forgeries S21-S40, and 20 random forgeries: genuine signatures (S1-S20) of
the other users of the same fold, drawn without replacement. SVC2004 took each random forgery from a different user;
a fold of 10 has 9 others, so here users may repeat. The draws depend only on ``seed``, the user, the trial and the
fold's users, so every method sees the same trials.

A probe's score is its least distance to the 5 references divided by the references' mean distance to each other
(the user's own variability: a writer who varies much is allowed more), lower meaning more genuine. EER is computed
per user and trial, separately against skilled and random forgeries, then averaged; a single global threshold can be
calibrated on validation writers' trials (their EER threshold against skilled forgeries) and applied unchanged.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np

from metrickit.evaluation.verification import equal_error_rate

__all__ = ["ENROLMENT_POOL", "GENUINE_PROBES", "SKILLED_FORGERIES", "SvcTrial", "calibrated_threshold", "evaluate_trials",
           "rates_at_threshold", "reference_spread", "svc_folds", "svc_trials", "trial_scores", "writers_in_order"]

ENROLMENT_POOL = tuple(range(1, 11))
GENUINE_PROBES = tuple(range(11, 21))
SKILLED_FORGERIES = tuple(range(21, 41))


@dataclass(frozen=True)
class SvcTrial:
    """One user's trial: positions (into the fold's signatures) of the references and of each kind of probe."""

    user: str
    trial: int
    references: np.ndarray  # (n_enrol,)
    genuine: np.ndarray  # (10,)
    skilled: np.ndarray  # (20,)
    random: np.ndarray  # (n_random,)


def writers_in_order(names) -> list[str]:
    """Distinct writer names in natural order ('user2' before 'user10')."""
    return sorted({str(name) for name in names}, key=lambda name: (len(name), name))


def svc_folds(users: Sequence[str], n_folds: int = 3) -> list[list[str]]:
    """Users in ``n_folds`` consecutive folds of equal size, in the order given (SVC2004: users 1-10, 11-20, 21-30)."""
    users = list(users)
    if n_folds < 2 or len(users) % n_folds:
        raise ValueError(f"{len(users)} users do not split into {n_folds} equal folds (need n_folds >= 2 dividing the count).")
    size = len(users) // n_folds
    return [users[k * size : (k + 1) * size] for k in range(n_folds)]


def _user_number(user: str) -> int:
    digits = "".join(ch for ch in str(user) if ch.isdigit())
    return int(digits) if digits else sum(map(ord, str(user)))


def svc_trials(labels: np.ndarray, samples: np.ndarray, forged: np.ndarray, users: Sequence[str], *, n_trials: int = 10,
               n_enrol: int = 5, n_random: int = 20, seed: int = 0) -> list[SvcTrial]:
    """Every user's ``n_trials`` trials over the signatures given (``labels``, ``samples`` numbered 1-40, ``forged``),
    whose random forgeries come from the other ``users``; positions index the arrays given."""
    labels, samples, forged = np.asarray(labels).astype(str), np.asarray(samples), np.asarray(forged, dtype=bool)
    users = [str(u) for u in users]
    if len(users) < 2:
        raise ValueError("random forgeries need at least 2 users in the fold.")
    trials = []
    for user in users:
        mine = labels == user
        pool = np.flatnonzero(mine & ~forged & np.isin(samples, ENROLMENT_POOL))
        genuine = np.flatnonzero(mine & ~forged & np.isin(samples, GENUINE_PROBES))
        skilled = np.flatnonzero(mine & forged & np.isin(samples, SKILLED_FORGERIES))
        others = np.flatnonzero(np.isin(labels, [u for u in users if u != user]) & ~forged & (samples <= 20))
        if len(pool) < n_enrol or not len(genuine) or not len(skilled) or len(others) < n_random:
            raise ValueError(f"{user} has {len(pool)} genuine S1-S10 (needs {n_enrol}), {len(genuine)} S11-S20, {len(skilled)} skilled "
                             f"forgeries and {len(others)} other users' genuine signatures (needs {n_random}).")
        for trial in range(n_trials):
            rng = np.random.default_rng([seed, _user_number(user), trial])
            trials.append(SvcTrial(user, trial, np.sort(rng.choice(pool, n_enrol, replace=False)), genuine, skilled,
                                   np.sort(rng.choice(others, n_random, replace=False))))
    return trials


def reference_spread(among_references: np.ndarray) -> float:
    """The references' mean distance to each other (off the diagonal of their (n, n) distances): a score's divisor."""
    return float(among_references[~np.eye(len(among_references), dtype=bool)].mean())


def trial_scores(distances: np.ndarray, trial: SvcTrial) -> dict[str, np.ndarray]:
    """Normalised scores of the trial's genuine, skilled and random probes, from ``distances`` (rows: references,
    columns: probes; only those entries are read)."""
    references = trial.references
    spread = reference_spread(distances[np.ix_(references, references)])
    if not np.isfinite(spread) or spread <= 0:
        raise ValueError(f"{trial.user}, trial {trial.trial}: the references' mutual distances are {spread!r}; they must be finite and > 0.")
    scores = {kind: distances[np.ix_(references, getattr(trial, kind))].min(0) / spread for kind in ("genuine", "skilled", "random")}
    for kind, values in scores.items():
        if not np.isfinite(values).all():
            raise ValueError(f"{trial.user}, trial {trial.trial}: some {kind} probe distances are missing or not finite.")
    return scores


def evaluate_trials(distances: np.ndarray, trials: Sequence[SvcTrial]) -> list[dict[str, Any]]:
    """Per user and trial: the EER against skilled and against random forgeries, and the scores."""
    rows = []
    for trial in trials:
        scores = trial_scores(distances, trial)
        rows.append({"user": trial.user, "trial": trial.trial, "eer_skilled": equal_error_rate(scores["genuine"], scores["skilled"])[0],
                     "eer_random": equal_error_rate(scores["genuine"], scores["random"])[0],
                     **{f"scores_{kind}": values.tolist() for kind, values in scores.items()}})
    return rows


def rates_at_threshold(rows: Sequence[dict[str, Any]], threshold: float) -> dict[str, float]:
    """FRR and FAR (skilled, random) over all ``rows``' probes with one global ``threshold`` (score <= it: accepted)."""
    pooled = {kind: np.concatenate([r[f"scores_{kind}"] for r in rows]) for kind in ("genuine", "skilled", "random")}
    return {"threshold": float(threshold), "frr": float((pooled["genuine"] > threshold).mean()),
            "far_skilled": float((pooled["skilled"] <= threshold).mean()), "far_random": float((pooled["random"] <= threshold).mean())}


def calibrated_threshold(rows: Sequence[dict[str, Any]]) -> float:
    """The EER threshold of the pooled genuine vs skilled scores of ``rows`` (validation writers' trials)."""
    genuine = np.concatenate([r["scores_genuine"] for r in rows])
    skilled = np.concatenate([r["scores_skilled"] for r in rows])
    return equal_error_rate(genuine, skilled)[1]
