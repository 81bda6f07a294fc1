"""The exact LMNN semidefinite program in ``M`` (cvxpy), the reference for small problems."""

from __future__ import annotations

import numpy as np

from metrickit.linear._lmnn_objective import TargetNeighbors

__all__ = ["SDP_MAX_SAMPLES", "SDP_MAX_COEFFICIENTS", "solve_lmnn_sdp"]

SDP_MAX_SAMPLES = 500
"""Largest ``n_samples`` the SDP accepts: it holds every triplet, O(n^2 * n_neighbors) hinge terms."""

SDP_MAX_COEFFICIENTS = 20_000_000
"""Largest ``n_other_class_pairs * n_features**2`` the SDP accepts (its constraint matrix)."""


def check_sdp_size(n_samples: int, n_pairs: int, n_features: int) -> None:
    """Refuse problems too large for the exact program, naming the size and the limit."""
    if n_samples > SDP_MAX_SAMPLES:
        raise ValueError(
            f"solver='sdp' is limited to {SDP_MAX_SAMPLES} samples (it lists every triplet); got "
            f"n_samples={n_samples}. Use solver='lbfgs' for larger problems."
        )
    if n_pairs * n_features**2 > SDP_MAX_COEFFICIENTS:
        raise ValueError(
            f"solver='sdp' is limited to n_other_class_pairs * n_features**2 <= {SDP_MAX_COEFFICIENTS:,}; got "
            f"{n_pairs:,} * {n_features}**2 = {n_pairs * n_features**2:,}. Use solver='lbfgs' or fewer features."
        )


def solve_lmnn_sdp(
    X: np.ndarray, y: np.ndarray, targets: TargetNeighbors, margin: float, push_weight: float, verbose: bool = False
) -> tuple[np.ndarray, float, int]:
    """Minimise the exact LMNN objective over all PSD ``M``, with every triplet as a hinge.

    Returns
    -------
    M : ndarray of shape (n_features, n_features)
    objective : float
        The optimal value reported by the solver.
    n_iter : int
        Interior-point iterations (0 when the solver does not report them).
    """
    import cvxpy as cp

    n, d = X.shape
    anchors_t, cols_t = np.nonzero(targets.mask)
    others_t = targets.indices[anchors_t, cols_t]
    anchors_p, others_p = np.nonzero(y[:, None] != y[None, :])  # every other-class pair
    has_target = targets.mask.any(axis=1)
    keep = has_target[anchors_p]
    anchors_p, others_p = anchors_p[keep], others_p[keep]
    check_sdp_size(n, len(anchors_p), d)

    def outer_features(a: np.ndarray, b: np.ndarray) -> np.ndarray:
        diff = X[a] - X[b]  # (p, d)
        return (diff[:, :, None] * diff[:, None, :]).reshape(len(a), d * d)  # (p, d*d): vec(C_ab)

    M = cp.Variable((d, d), PSD=True)
    m = cp.vec(M, order="C")
    d_target = outer_features(anchors_t, others_t) @ m  # (n_t,)
    d_pairs = outer_features(anchors_p, others_p) @ m  # (n_p,)
    # Triplet (i, j, l): every target j of i against every other-class l of i. Targets of one
    # anchor are contiguous in anchors_t (row-major nonzero), so index arithmetic lists them.
    count = np.bincount(anchors_t, minlength=n)
    start = np.concatenate([[0], np.cumsum(count)[:-1]])
    per_pair = count[anchors_p]
    p_index = np.repeat(np.arange(len(anchors_p)), per_pair)
    offset = np.arange(len(p_index)) - np.repeat(np.cumsum(per_pair) - per_pair, per_pair)
    t_index = start[anchors_p][p_index] + offset
    hinge = cp.pos(margin + d_target[t_index] - d_pairs[p_index])
    objective = (1.0 - push_weight) * cp.sum(d_target) + push_weight * cp.sum(hinge)
    problem = cp.Problem(cp.Minimize(objective))
    problem.solve(solver=cp.CLARABEL, verbose=verbose)
    if problem.status != cp.OPTIMAL:
        raise RuntimeError(f"The LMNN SDP did not solve to optimality: cvxpy status {problem.status!r}.")
    n_iter = int(getattr(problem.solver_stats, "num_iters", 0) or 0)
    return np.asarray(M.value), float(problem.value), n_iter
