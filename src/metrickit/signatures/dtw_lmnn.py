"""LMNN for DTW's local cost: a Mahalanobis matrix M over per-point features, learned from aligned signatures.

For each training writer, each genuine anchor from S1-S10 is aligned by DTW with ``n_targets`` of the writer's other
genuine signatures (targets) and ``n_impostors`` of the writer's skilled forgeries (impostors; a forgery is a
negative for its own writer only). Along a path, the squared DTW cost under M is ``<M, S>`` with S the scatter of the
aligned point differences (:func:`~metrickit.signatures.alignment.aligned_scatters`), divided here by the path's
length (a per-step cost, so long and short signatures weigh alike). With the paths fixed, the objective is LMNN's,
convex in M:

    (1 - mu) mean_targets <M, S_at> + mu mean_(a,t,f) [margin + <M, S_at> - <M, S_af>]_+

minimised by projected subgradient steps (M kept positive semi-definite) with LMNN's step rule (grow 5% after an
improvement, halve and retry after a worse step). The paths are then recomputed under the new M and the objective
minimised again, ``n_alignments`` times in all (M starts at the identity: plain DTW). ``components_`` L (M = L^T L)
is the ``transform`` of :func:`~metrickit.signatures.dtw.dtw_cross_distances`.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from metrickit.signatures.alignment import aligned_scatters
from metrickit.signatures.protocol import ENROLMENT_POOL

__all__ = ["DTWMetricLearner", "alignment_triplets"]


def alignment_triplets(writers: np.ndarray, samples: np.ndarray, forged: np.ndarray, *, n_targets: int, n_impostors: int,
                       seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Positions of (anchor, target) pairs, (anchor, impostor) pairs, and triplets as (target pair, impostor pair)
    index pairs sharing an anchor; writers without skilled forgeries give no triplets."""
    writers, samples, forged = np.asarray(writers).astype(str), np.asarray(samples), np.asarray(forged, dtype=bool)
    rng = np.random.default_rng(seed)
    targets, impostors, triplets = [], [], []
    for writer in sorted(set(writers.tolist())):
        mine = writers == writer
        genuine, forgeries = np.flatnonzero(mine & ~forged), np.flatnonzero(mine & forged)
        anchors = np.flatnonzero(mine & ~forged & np.isin(samples, ENROLMENT_POOL))
        if not len(forgeries) or len(genuine) < 2:
            continue
        for anchor in anchors:
            others = genuine[genuine != anchor]
            chosen_t = rng.choice(others, min(n_targets, len(others)), replace=False)
            chosen_f = rng.choice(forgeries, min(n_impostors, len(forgeries)), replace=False)
            t0, f0 = len(targets), len(impostors)
            targets += [(anchor, t) for t in chosen_t]
            impostors += [(anchor, f) for f in chosen_f]
            grid = np.stack(np.meshgrid(np.arange(t0, len(targets)), np.arange(f0, len(impostors)), indexing="ij"), -1).reshape(-1, 2)
            triplets.append(grid)
    if not triplets:
        raise ValueError("no training writer has both two genuine signatures and a skilled forgery: nothing to learn from.")
    return np.array(targets), np.array(impostors), np.concatenate(triplets)


def _psd(matrix: np.ndarray) -> np.ndarray:
    values, vectors = np.linalg.eigh((matrix + matrix.T) / 2)
    return (vectors * np.maximum(values, 0)) @ vectors.T


class DTWMetricLearner:
    """Learns DTW's local Mahalanobis cost from training writers' signatures; see the module docstring.

    Parameters
    ----------
    window : int, default=20
        The DTW band in points (as :func:`~metrickit.signatures.dtw.dtw_cross_distances`).
    margin : float, default=1.0
        The per-step margin between a target's and an impostor's cost.
    push_weight : float, default=0.5
        mu, the weight of the impostor hinge against the target pull.
    n_targets, n_impostors : int, default=4
        Genuine signatures and skilled forgeries aligned with each anchor.
    n_alignments : int, default=3
        Rounds of (align under the current M, minimise with the paths fixed).
    max_iter : int, default=300
        Subgradient steps per round.
    diagonal : bool, default=False
        Learn only a weight per feature (M diagonal: fewer parameters, less to overfit with few writers).
    random_state : int, default=0
    """

    def __init__(self, window: int = 20, *, margin: float = 1.0, push_weight: float = 0.5, n_targets: int = 4, n_impostors: int = 4,
                 n_alignments: int = 3, max_iter: int = 300, diagonal: bool = False, random_state: int = 0):
        self.window, self.margin, self.push_weight = window, margin, push_weight
        self.n_targets, self.n_impostors, self.n_alignments = n_targets, n_impostors, n_alignments
        self.max_iter, self.diagonal, self.random_state = max_iter, diagonal, random_state

    def fit(self, sequences: Sequence[np.ndarray], writers: np.ndarray, samples: np.ndarray, forged: np.ndarray) -> "DTWMetricLearner":
        """Learn from per-point feature sequences (one per signature) of the training writers."""
        if not 0 <= self.push_weight <= 1:
            raise ValueError(f"`push_weight` must lie in [0, 1]; got {self.push_weight!r}.")
        if self.margin <= 0:
            raise ValueError(f"`margin` must be > 0; got {self.margin!r}.")
        targets, impostors, triplets = alignment_triplets(writers, samples, forged, n_targets=self.n_targets, n_impostors=self.n_impostors,
                                                          seed=self.random_state)
        dim = np.asarray(sequences[0]).shape[1]
        metric = np.eye(dim)
        self.loss_curve_: list[float] = []
        self.active_fraction_: list[float] = []
        for _ in range(self.n_alignments):
            transform = np.linalg.cholesky(metric + 1e-12 * np.eye(dim)).T
            pull = self._scatters(sequences, targets, transform)
            push = self._scatters(sequences, impostors, transform)
            metric = self._minimise(metric, pull, pull[triplets[:, 0]] - push[triplets[:, 1]])
        if np.trace(metric) < 1e-9 * dim:
            raise ValueError("the learned metric collapsed to zero (every impostor hinge active, the pull winning): raise `push_weight` "
                             "or lower `margin`.")
        self.metric_ = metric
        values, vectors = np.linalg.eigh(metric)
        self.components_ = (vectors * np.sqrt(np.maximum(values, 0))).T  # L with L^T L = M
        self.n_triplets_ = len(triplets)
        return self

    def _scatters(self, sequences, pairs: np.ndarray, transform: np.ndarray) -> np.ndarray:
        _, scatters, steps = aligned_scatters([sequences[a] for a in pairs[:, 0]], [sequences[b] for b in pairs[:, 1]],
                                              window=self.window, transform=transform)
        return scatters / steps[:, None, None]

    def _objective(self, metric: np.ndarray, pull: np.ndarray, differences: np.ndarray) -> tuple[float, np.ndarray]:
        margins = self.margin + np.einsum("ij,bij->b", metric, differences)
        active = margins > 0
        loss = (1 - self.push_weight) * np.einsum("ij,bij->b", metric, pull).mean() + self.push_weight * margins[active].sum() / len(margins)
        gradient = (1 - self.push_weight) * pull.mean(0) + self.push_weight * differences[active].sum(0) / len(margins)
        return float(loss), gradient

    def _minimise(self, metric: np.ndarray, pull: np.ndarray, differences: np.ndarray) -> np.ndarray:
        loss, gradient = self._objective(metric, pull, differences)
        step = 0.1 * np.linalg.norm(metric) / max(np.linalg.norm(gradient), 1e-12)
        for _ in range(self.max_iter):
            candidate = np.diag(np.maximum(np.diag(metric - step * gradient), 0)) if self.diagonal else _psd(metric - step * gradient)
            new_loss, new_gradient = self._objective(candidate, pull, differences)
            if new_loss <= loss:
                metric, loss, gradient, step = candidate, new_loss, new_gradient, step * 1.05
            else:
                step *= 0.5
            if step < 1e-12:
                break
        self.loss_curve_.append(loss)
        self.active_fraction_.append(float((self.margin + np.einsum("ij,bij->b", metric, differences) > 0).mean()))
        return metric
