"""Verification: are two samples the same identity? A distance, a threshold, and the standard scores.

A pair is accepted as "same" when its distance is at most the threshold. Over genuine pairs (same
identity) and impostor pairs (different identities, or a genuine signature and a skilled forgery):

- TAR (true accept rate) = accepted genuine pairs / genuine pairs; FAR (false accept rate) = accepted
  impostor pairs / impostor pairs; FRR = 1 - TAR.
- ROC AUC = P(a random impostor distance > a random genuine distance), ties counting one half
  (the Mann-Whitney statistic; equal to the area under the ROC curve).
- EER: the rate where FAR = FRR, linearly interpolated between the two operating points around it;
  its threshold is interpolated the same way. The calibrated threshold of a model is the EER threshold
  of its validation pairs (independent of how many genuine vs impostor pairs there are).
- TAR at FAR = f: the largest TAR of an operating point with FAR <= f, reported only where there are at
  least 10 / f impostor pairs (fewer cannot resolve that FAR).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

import numpy as np

__all__ = [
    "MIN_FALSE_ACCEPTS",
    "VerificationReport",
    "verification_pairs",
    "equal_error_rate",
    "roc_auc",
    "roc_curve",
    "tar_at_fars",
    "tar_at_far",
    "verification_report",
]


MIN_FALSE_ACCEPTS = 10  # a FAR f is reported only with at least MIN_FALSE_ACCEPTS / f impostor pairs


def _check_scores(genuine: np.ndarray, impostor: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    genuine, impostor = np.asarray(genuine, dtype=np.float64).ravel(), np.asarray(impostor, dtype=np.float64).ravel()
    for name, values in (("genuine", genuine), ("impostor", impostor)):
        if len(values) == 0:
            raise ValueError(f"`{name}` holds no pair distances; verification needs genuine and impostor pairs.")
        if not np.isfinite(values).all():
            raise ValueError(f"`{name}` pair distances must be finite; found NaN or inf.")
    return genuine, impostor


def roc_curve(genuine: np.ndarray, impostor: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(far, tar, thresholds)`` at every operating point, thresholds ascending (the first, -inf, accepts nothing)."""
    genuine, impostor = _check_scores(genuine, impostor)
    thresholds = np.concatenate([[-np.inf], np.unique(np.concatenate([genuine, impostor]))])
    tar = np.searchsorted(np.sort(genuine), thresholds, side="right") / len(genuine)
    far = np.searchsorted(np.sort(impostor), thresholds, side="right") / len(impostor)
    return far, tar, thresholds


def tar_at_fars(far: np.ndarray, tar: np.ndarray, fars: np.ndarray) -> np.ndarray:
    """A ROC curve (:func:`roc_curve`'s ``far``, ``tar``) read at each of ``fars``: the largest TAR with FAR at most it
    (the curve is a step function), so that curves of several folds can be averaged."""
    return np.asarray(tar)[np.searchsorted(far, fars, side="right") - 1]


def roc_auc(genuine: np.ndarray, impostor: np.ndarray) -> float:
    """Area under the ROC curve: P(impostor distance > genuine distance) + P(equal) / 2."""
    from scipy.stats import rankdata

    genuine, impostor = _check_scores(genuine, impostor)
    ranks = rankdata(np.concatenate([genuine, impostor]))  # ties get their mean rank
    n_g, n_i = len(genuine), len(impostor)
    return float((ranks[n_g:].sum() - n_i * (n_i + 1) / 2) / (n_g * n_i))


def equal_error_rate(genuine: np.ndarray, impostor: np.ndarray) -> tuple[float, float]:
    """``(eer, threshold)`` where FAR = FRR, interpolated between the operating points that bracket it."""
    far, tar, thresholds = roc_curve(genuine, impostor)
    frr = 1.0 - tar
    k = int(np.argmax(far >= frr))  # far rises from 0 and frr falls from 1 to 0, so they cross at some k >= 1
    gap_before, gap_after = frr[k - 1] - far[k - 1], far[k] - frr[k]
    alpha = gap_before / (gap_before + gap_after) if gap_before + gap_after > 0 else 0.0
    eer = far[k - 1] + alpha * (far[k] - far[k - 1])
    low = thresholds[k - 1] if np.isfinite(thresholds[k - 1]) else thresholds[k]
    return float(eer), float(low + alpha * (thresholds[k] - low))


def tar_at_far(genuine: np.ndarray, impostor: np.ndarray, far: float) -> float | None:
    """The largest TAR with FAR <= ``far``; None when there are fewer than ``MIN_FALSE_ACCEPTS / far`` impostor pairs."""
    if not 0 < far < 1:
        raise ValueError(f"`far` must lie in (0, 1); got {far!r}.")
    if len(np.ravel(impostor)) < MIN_FALSE_ACCEPTS / far:
        return None
    rates, tar, _ = roc_curve(genuine, impostor)
    return float(tar[rates <= far + 1e-12].max())


@dataclass(frozen=True)
class VerificationReport:
    """Scores of one set of genuine and impostor pair distances (rates as fractions)."""

    roc_auc: float
    eer: float
    eer_threshold: float
    threshold: float | None = None
    accuracy: float | None = None  # at `threshold`, over all pairs
    balanced_accuracy: float | None = None  # at `threshold`: (TAR + 1 - FAR) / 2
    tar: float | None = None  # at `threshold`
    far: float | None = None  # at `threshold`
    tar_at_far: dict[str, float | None] = field(default_factory=dict)
    n_genuine: int = 0
    n_impostor: int = 0

    def as_dict(self) -> dict:
        return asdict(self)


def verification_report(
    genuine: np.ndarray, impostor: np.ndarray, threshold: float | None = None, fars: tuple[float, ...] = (0.01, 0.001)
) -> VerificationReport:
    """AUC, EER, TAR at each FAR in ``fars`` and, given a (calibrated) ``threshold``, accuracy, TAR and FAR there."""
    genuine, impostor = _check_scores(genuine, impostor)
    eer, eer_threshold = equal_error_rate(genuine, impostor)
    at = {}
    if threshold is not None:
        tar, far = float((genuine <= threshold).mean()), float((impostor <= threshold).mean())
        correct = (genuine <= threshold).sum() + (impostor > threshold).sum()
        at = dict(threshold=float(threshold), accuracy=float(correct / (len(genuine) + len(impostor))),
                  balanced_accuracy=(tar + 1 - far) / 2, tar=tar, far=far)
    return VerificationReport(roc_auc(genuine, impostor), eer, eer_threshold, **at,
                              tar_at_far={f"{f:.1%}".replace(".0%", "%"): tar_at_far(genuine, impostor, f) for f in fars},
                              n_genuine=len(genuine), n_impostor=len(impostor))


def verification_pairs(identities: np.ndarray, forged: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(first, second, genuine)``: every unordered pair of samples, and whether it is a genuine pair.

    Without ``forged``: genuine = same identity, impostor = different identities. With ``forged`` (True
    for a skilled forgery of its identity, as in signature data): genuine = two genuine samples of one
    identity, impostor = a genuine sample and a skilled forgery of the same identity; all other pairs
    (forgery with forgery, across identities) are left out.
    """
    identities = np.asarray(identities)
    first, second = np.triu_indices(len(identities), k=1)
    same = identities[first] == identities[second]
    if forged is None:
        return first, second, same
    forged = np.asarray(forged, dtype=bool)
    if forged.shape != identities.shape:
        raise ValueError(f"`forged` must have one flag per sample ({len(identities)}); got shape {forged.shape}.")
    genuine = same & ~forged[first] & ~forged[second]
    impostor = same & (forged[first] != forged[second])
    keep = genuine | impostor
    return first[keep], second[keep], genuine[keep]
