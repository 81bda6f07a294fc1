"""One LMNN problem and every step of its solver: the data, the fixed target neighbours and the settings are held once,
so each step takes the map ``L`` and its own options only.

The estimator (:class:`metrickit.linear.LMNN`) validates, initialises and loops; the maths of the objective lives in
:mod:`metrickit.linear._lmnn_objective` (searches, hinges, gradients) and is driven from here.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np
from scipy.optimize import minimize
from threadpoolctl import threadpool_limits

from metrickit._threads import Workers, blas_threads
from metrickit._validation import check_working_memory
from metrickit.linear._lmnn_objective import (
    ImpostorBudgetExceeded,
    ImpostorPairs,
    PairGraph,
    TargetNeighbors,
    find_impostors,
    hinge_arguments,
    lmnn_radius,
    loss_and_grad,
    objective_on_pairs,
    streaming_loss_and_grad,
    target_distances,
)

__all__ = ["CANDIDATE_SLACK", "LMNNProblem"]

CANDIDATE_SLACK = 0.1  # candidate impostors lie within (1 + slack) x the impostor radius (in distance)
_MAXCOR = 10  # L-BFGS memory
_RESCALE_MARGINS = 5.0  # shrink the initial map until the median target distance^2 is this many margins


@dataclass(frozen=True)
class LMNNProblem:
    """Centred features ``X`` (n_samples, n_features) float64, label codes ``y``, fixed ``targets``, and the settings."""

    X: np.ndarray
    y: np.ndarray
    targets: TargetNeighbors
    margin: float
    push_weight: float
    working_memory: float | None = None

    @cached_property
    def X32(self) -> np.ndarray:
        """The features in float32, for the L-BFGS rounds (the exact objective stays float64)."""
        return self.X.astype(np.float32)

    @property
    def pair_budget(self) -> int:
        """How many candidate pairs the stored path may hold within ``working_memory`` (about 112 + 8k bytes each)."""
        return int(check_working_memory(self.working_memory) * 2**20 // (112 + 8 * self.targets.indices.shape[1]))

    def exact_objective(self, L: np.ndarray, slack: float = 0.0, max_pairs: int | None = None) -> tuple[float, ImpostorPairs | None, int]:
        """Exact objective of ``L`` and the impostor pairs within ``(1 + slack)`` x the radius (in distance).

        With more than ``max_pairs`` pairs the objective is computed by streaming and the pairs are ``None``.
        """
        Z = self.X @ L.T
        d_target = target_distances(Z, self.targets, self.working_memory)
        radius = lmnn_radius(d_target, self.targets, self.margin)
        try:
            pairs, d_pairs = find_impostors(Z, self.y, radius * (1.0 + slack) ** 2, working_memory=self.working_memory,
                                            max_pairs=max_pairs)
        except ImpostorBudgetExceeded:
            eps, _, n_active = self.streaming(L, with_grad=False)
            return eps, None, n_active
        eps, n_active = objective_on_pairs(d_target, self.targets, pairs, d_pairs, self.margin, self.push_weight)
        return eps, pairs, n_active

    def streaming(self, L: np.ndarray, *, X: np.ndarray | None = None, smoothing: float = 0.0, with_grad: bool = True,
                  n_threads: int | None = None) -> tuple[float, np.ndarray | None, int]:
        """The objective over all impostors (and its gradient), found afresh block by block (``X``: default float64)."""
        return streaming_loss_and_grad(L, self.X if X is None else X, self.y, self.targets, self.margin, self.push_weight,
                                       self.working_memory, smoothing, with_grad=with_grad, n_threads=n_threads)

    def rescale_to_margin(self, L: np.ndarray) -> np.ndarray:
        """Shrink ``L`` so the median squared target distance is ``_RESCALE_MARGINS`` margins (never enlarge it).

        The objective is not scale-free: with distances far above the margin the pull term dominates and
        L-BFGS spends hundreds of iterations shrinking ``L``; shrinking much further would inflate the
        impostor set. The direction of ``L`` is kept.
        """
        d_target = target_distances(self.X @ L.T, self.targets, self.working_memory)[self.targets.mask]
        median = float(np.median(d_target)) if d_target.size else 0.0
        goal = _RESCALE_MARGINS * self.margin
        return L * np.sqrt(goal / median) if median > goal else L

    def best_scale(self, L: np.ndarray, t_low: float = 0.5, max_steps: int = 4) -> tuple[np.ndarray, tuple | None]:
        """``sqrt(t) L`` for the ``t`` that minimises the exact objective along ``M = t L^T L``.

        Along that ray the objective is ``(1 - mu) t P + mu sum [margin + t (d_ij - d_il)]_+``, convex and
        piecewise linear in ``t``. One search with radius ``max_j d_ij + margin / t_low`` holds every triplet
        that can be active for ``t >= t_low``, so the minimum over ``[t_low, inf)`` is exact: walk the
        breakpoints ``margin / (d_il - d_ij)`` until the slope turns non-negative. If the minimum sits at
        ``t_low`` the ray is searched again from there (at most ``max_steps`` times). Starting at the best
        scale keeps the first L-BFGS steps from shrinking ``L`` far past it, which floods the impostor set.

        Returns the scaled map and ``(objective, pairs, n_active)`` there: the search's pairs hold every
        impostor at the chosen scale, so they serve as the first candidate set.
        """
        targets, margin, push_weight = self.targets, self.margin, self.push_weight
        for _ in range(max_steps):
            Z = self.X @ L.T
            d_target = target_distances(Z, targets, self.working_memory)
            radius = lmnn_radius(d_target, targets, margin / t_low)
            try:
                pairs, d_pairs = find_impostors(Z, self.y, radius, working_memory=self.working_memory, max_pairs=self.pair_budget)
            except ImpostorBudgetExceeded:  # too many impostors to hold: start from the current scale
                return L, None
            delta = hinge_arguments(d_target, targets, pairs, d_pairs, 0.0).ravel()  # d_ij - d_il; -inf at padding
            delta = delta[np.isfinite(delta)]  # (n_triplets,): every possibly active triplet
            slope = (1.0 - push_weight) * float(d_target[targets.mask].sum()) + push_weight * float(delta[delta >= 0].sum())
            negative = delta[delta < 0]
            breaks = margin / -negative  # the hinge of a triplet with delta < 0 switches off at t = margin / -delta
            order = np.argsort(breaks)
            breaks, negative = breaks[order], negative[order]
            active = breaks > t_low
            slope_after = slope + push_weight * (negative[active].sum() - np.cumsum(negative[active]))  # just past each break
            if slope + push_weight * negative[active].sum() >= 0:  # increasing from t_low on: minimum at or below it
                L = L * np.sqrt(t_low)
                continue
            t_best = float(breaks[active][np.argmax(slope_after >= 0)]) if np.any(slope_after >= 0) else 1.0
            eps, n_active = objective_on_pairs(t_best * d_target, targets, pairs, t_best * d_pairs, margin, push_weight)
            return L * np.sqrt(t_best), (eps, pairs, n_active)
        return L, None

    def lbfgs_round(self, L: np.ndarray, pairs: ImpostorPairs | None, smoothing: float, maxiter: int):
        """One L-BFGS round in float32 on the candidate ``pairs`` (or streaming all impostors when ``pairs`` is None)."""
        n_threads = blas_threads()  # the evaluations run their blocks on this many threads, each BLAS single-threaded
        # One BLAS thread: the evaluations are memory-bound gathers and small products, threaded by block
        # instead; idle OpenBLAS workers spinning between calls slow them down several-fold on few cores.
        X, shape = self.X32, L.shape
        with threadpool_limits(limits=1, user_api="blas"), Workers(n_threads) as workers:
            if pairs is None:  # more impostors than the memory budget: every evaluation searches afresh
                def fun(flat):
                    loss, grad, _ = self.streaming(flat.reshape(shape), X=X, smoothing=smoothing, n_threads=n_threads)
                    return loss, grad.ravel()
            else:
                graph = PairGraph(X, self.targets, pairs, workers, self.working_memory)

                def fun(flat):
                    loss, grad = loss_and_grad(flat.reshape(shape), X, self.targets, pairs, graph, self.margin, self.push_weight,
                                               self.working_memory, smoothing)
                    return loss, grad.ravel()

            # Rounds end at their budget or a failed line search; `tol` judges the exact objective.
            return minimize(fun, L.ravel(), jac=True, method="L-BFGS-B",
                            options={"maxiter": maxiter, "ftol": 1e-12, "gtol": 0.0, "maxcor": _MAXCOR})
