"""Large Margin Nearest Neighbor (LMNN) metric learning, as a scikit-learn estimator."""

from __future__ import annotations

import logging
import time
import warnings
from functools import partial
from numbers import Integral, Real

import numpy as np
from scipy.optimize import minimize
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils import check_random_state
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import validate_data
from threadpoolctl import threadpool_limits

from metrickit._progress import progress
from metrickit._threads import Workers, blas_threads
from metrickit._validation import check_positive_int, check_real, check_working_memory, validate_choice
from metrickit.distances.psd import components_from_matrix
from metrickit.exceptions import ConvergenceWarning
from metrickit.linear._init import INIT_OPTIONS, initial_components
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
    select_target_neighbors,
    streaming_loss_and_grad,
    target_distances,
    warn_small_classes,
)
from metrickit.linear.base import MahalanobisMixin

__all__ = ["LMNN", "lmnn_objective"]

logger = logging.getLogger(__name__)

SOLVERS = ("auto", "lbfgs", "sdp")
_CANDIDATE_SLACK = 0.1  # candidate impostors lie within (1 + slack) x the impostor radius (in distance)
_FIRST_ROUND_ITER = 5  # L-BFGS iterations before the first fresh impostor search; doubles each round
_INNER_MAX_ITER = 200  # ... up to this many between two searches
_MAXCOR = 10  # L-BFGS memory
_SMOOTHING = (0.1, 0.01)  # Huber widths (x margin) of the first two rounds; then the exact hinge
_RESCALE_MARGINS = 5.0  # shrink the initial map until the median target distance^2 is this many margins


def _plain(label):
    """A numpy scalar label as the Python value it holds (for messages and JSON)."""
    return label.item() if isinstance(label, np.generic) else label


def encode_labels(y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Integer codes (n_samples,) and the sorted unique classes of any array of hashable labels."""
    try:
        classes, codes = np.unique(y, return_inverse=True)
    except TypeError:  # mixed, unorderable labels: order of first appearance
        index: dict = {}
        codes = np.array([index.setdefault(label, len(index)) for label in y], dtype=np.intp)
        classes = np.empty(len(index), dtype=object)
        classes[:] = list(index)
    return codes.reshape(-1), classes


class LMNN(MahalanobisMixin, TransformerMixin, BaseEstimator):
    """Large Margin Nearest Neighbor metric learning (Weinberger & Saul, 2009).

    Learns a linear map ``L`` (``M = L^T L``) that pulls each point's ``n_neighbors`` same-class
    *target neighbours* close and pushes points of other classes (*impostors*) at least ``margin``
    (in squared distance) beyond them. The objective, with ``mu = push_weight``, is::

        (1 - mu) sum_{i, j~>i} d2(i, j) + mu sum_{i, j~>i, l: y_l != y_i} [margin + d2(i, j) - d2(i, l)]_+

    Parameters
    ----------
    n_components : int, default=None
        Rows of ``L`` (output dimension); ``None`` means ``n_features``.
    n_neighbors : int, default=3
        Target neighbours per point, the nearest same-class points in Euclidean distance.
    margin : float, default=1.0
        Margin in squared distance.
    push_weight : float, default=0.5
        Weight ``mu`` in [0, 1) of the impostor (push) term.
    init : {'auto', 'identity', 'pca', 'lda', 'random'} or ndarray of shape (n_components, n_features), default='auto'
        Starting ``L``: 'auto' is 'identity' at full dimension and 'pca' below it.
    solver : {'auto', 'lbfgs', 'sdp'}, default='auto'
        - 'lbfgs' (what 'auto' picks): alternates an exact blockwise impostor search with L-BFGS on ``L``
          over the candidate impostors (a Huber-smoothed hinge in the first two rounds, then the
          exact hinge; rounds start at 5 iterations and double up to 200), until an exact-hinge round changes the exact objective by less than ``tol``
          (relative). Memory is O(n_samples * n_neighbors + n_impostor_pairs), never n x n.
        - 'sdp': the exact convex program in ``M`` (cvxpy, every triplet listed), a reference for
          problems of at most a few hundred points; larger ones are refused.
    max_iter : int, default=1000
        Maximum total L-BFGS iterations ('lbfgs').
    tol : float, default=1e-3
        Stop when an exact-hinge round changes the exact objective by less than ``tol`` relative to
        its value (1e-3 ends within about 0.2% of the fully converged objective on digits and MNIST;
        smaller values polish further at a higher cost).
    working_memory : float, default=None
        Budget in MiB for the blockwise searches; ``None`` uses scikit-learn's ``working_memory``.
    random_state : int, RandomState instance or None, default=None
        Seeds ``init='random'``.
    verbose : int, default=0
        0 silent; 1 a progress bar; 2 also logs each outer iteration.

    Attributes
    ----------
    components_ : ndarray of shape (n_components, n_features)
        The learned map ``L``.
    n_iter_ : int
        L-BFGS iterations run (for 'sdp': interior-point iterations).
    objective_ : float
        Exact objective of ``components_`` over all impostors.
    objective_history_ : list of float
        Exact objective after each outer iteration (the first entry is at ``init``).
    converged_ : bool
        Whether the stopping rule on ``tol`` was met (or the SDP solved to optimality).
    classes_ : ndarray of shape (n_classes,)
    n_features_in_ : int
    random_state_ : RandomState

    References
    ----------
    K. Q. Weinberger and L. K. Saul. Distance Metric Learning for Large Margin Nearest Neighbor
    Classification. JMLR 10 (2009).

    Examples
    --------
    >>> from sklearn.datasets import load_iris
    >>> from sklearn.neighbors import KNeighborsClassifier
    >>> from sklearn.pipeline import make_pipeline
    >>> X, y = load_iris(return_X_y=True)
    >>> model = make_pipeline(LMNN(n_neighbors=3, random_state=0), KNeighborsClassifier(n_neighbors=3))
    >>> round(model.fit(X, y).score(X, y), 2) >= 0.95
    True
    """

    def __init__(
        self,
        n_components=None,
        *,
        n_neighbors=3,
        margin=1.0,
        push_weight=0.5,
        init="auto",
        solver="auto",
        max_iter=1000,
        tol=1e-3,
        working_memory=None,
        random_state=None,
        verbose=0,
    ):
        self.n_components = n_components
        self.n_neighbors = n_neighbors
        self.margin = margin
        self.push_weight = push_weight
        self.init = init
        self.solver = solver
        self.max_iter = max_iter
        self.tol = tol
        self.working_memory = working_memory
        self.random_state = random_state
        self.verbose = verbose

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.required = True
        return tags

    def fit(self, X, y):
        """Learn ``L`` from features ``X`` (n_samples, n_features) and labels ``y`` (n_samples,)."""
        self._check_params()
        X, y = validate_data(self, X, y, dtype=np.float64, ensure_min_samples=2, y_numeric=False)
        check_classification_targets(y)
        codes, self.classes_ = encode_labels(y)
        if len(self.classes_) < 2:
            raise ValueError(
                f"`y` must contain at least two classes; got one class ({_plain(self.classes_[0])!r}) in {len(y)} samples."
            )
        n_components = self._check_n_components(X.shape[1])
        self.random_state_ = check_random_state(self.random_state)
        Xc = X - X.mean(axis=0)  # distances are translation invariant; centring keeps the searches precise
        targets, small = select_target_neighbors(Xc, codes, self.n_neighbors, working_memory=self.working_memory)
        warn_small_classes(small, self.classes_, self.n_neighbors)
        if targets.n_pairs == 0:
            raise ValueError("Every class in `y` has a single sample, so no point has a target neighbour.")
        if self.solver == "sdp":
            return self._fit_sdp(Xc, codes, targets, n_components)
        L0 = initial_components(self.init, Xc, codes, n_components, self.random_state_)
        L0 = _rescale_to_margin(L0, Xc, targets, self.margin, self.working_memory)
        L0, start = _best_scale(L0, Xc, codes, targets, self.margin, self.push_weight, self.working_memory)
        return self._fit_lbfgs(Xc, codes, targets, L0, start)

    def _check_params(self) -> None:
        check_positive_int(self.n_neighbors, "n_neighbors")
        check_real(self.margin, "margin", low=0.0, low_open=True)
        check_real(self.push_weight, "push_weight", low=0.0, high=1.0, high_open=True)
        check_positive_int(self.max_iter, "max_iter")
        check_real(self.tol, "tol", low=0.0)
        check_working_memory(self.working_memory)
        validate_choice(self.solver, "solver", SOLVERS)
        if not isinstance(self.init, np.ndarray):
            validate_choice(self.init, "init", INIT_OPTIONS)
        if isinstance(self.verbose, bool) or not isinstance(self.verbose, (Integral, Real)):
            raise TypeError(f"`verbose` must be an integer; got {self.verbose!r}.")

    def _check_n_components(self, n_features: int) -> int:
        if self.n_components is None:
            return n_features
        n_components = check_positive_int(self.n_components, "n_components")
        if n_components > n_features:
            raise ValueError(
                f"`n_components` ({n_components}) cannot be greater than the number of features ({n_features})."
            )
        if self.solver == "sdp" and n_components != n_features:
            raise ValueError(
                f"solver='sdp' learns a full-rank M, so `n_components` must be None or {n_features}; got {n_components}."
            )
        return n_components

    def _fit_sdp(self, X: np.ndarray, y: np.ndarray, targets: TargetNeighbors, n_components: int) -> "LMNN":
        from metrickit.linear._lmnn_sdp import solve_lmnn_sdp

        M, _, n_iter = solve_lmnn_sdp(X, y, targets, self.margin, self.push_weight, verbose=self.verbose >= 2)
        self.components_ = components_from_matrix((M + M.T) / 2.0)
        self.objective_ = _exact_objective(X, y, self.components_, targets, self.margin, self.push_weight, None)[0]
        self.objective_history_ = [self.objective_]
        self.n_iter_ = n_iter
        self.converged_ = True
        return self

    def _fit_lbfgs(
        self, X: np.ndarray, y: np.ndarray, targets: TargetNeighbors, L: np.ndarray, start: tuple | None = None
    ) -> "LMNN":
        """L-BFGS rounds from ``L``; ``start`` is ``(objective, pairs, n_active)`` at ``L`` when already known."""
        mu, margin, wm = self.push_weight, self.margin, self.working_memory
        X_inner = X.astype(np.float32)  # L-BFGS rounds run in float32; the exact objective stays float64
        budget = _pair_budget(wm, targets.indices.shape[1])
        eps, pairs, n_active = start or _exact_objective(X, y, L, targets, margin, mu, wm, _CANDIDATE_SLACK, budget)
        history, best = [eps], (eps, L)
        n_iter, converged, change, stage = 0, False, np.inf, 0
        bar = progress(total=self.max_iter, quiet=self.verbose < 1, desc="LMNN", unit="it", leave=False)
        while n_iter < self.max_iter:
            smoothing = _SMOOTHING[stage] * margin if stage < len(_SMOOTHING) else 0.0
            round_start = time.perf_counter()
            maxiter = min(_FIRST_ROUND_ITER * 2**stage, _INNER_MAX_ITER, self.max_iter - n_iter)
            result = _lbfgs_round(L, X_inner, y, targets, pairs, margin, mu, wm, smoothing, maxiter)
            steps = max(int(result.nit), 1)
            inner_seconds = time.perf_counter() - round_start
            n_iter += steps
            L = result.x.reshape(L.shape)
            eps, pairs, n_active = _exact_objective(X, y, L, targets, margin, mu, wm, _CANDIDATE_SLACK, budget)
            change = abs(history[-1] - eps) / max(abs(history[-1]), np.finfo(float).tiny)
            history.append(eps)
            if eps < best[0]:
                best = (eps, L)
            bar.update(steps)
            bar.set_postfix(objective=f"{eps:.5g}", active=n_active, pairs="streamed" if pairs is None else len(pairs))
            if self.verbose >= 2:
                logger.info(
                    "round %d (smoothing %.3g): %d L-BFGS iterations, %d evaluations in %.2f s (%s); "
                    "exact objective %.6g, %d active triplets, %d candidate pairs",
                    len(history) - 1, smoothing, result.nit, result.nfev, inner_seconds, result.message,
                    eps, n_active, -1 if pairs is None else len(pairs),
                )
            if smoothing == 0.0 and change <= self.tol:
                converged = True
                break
            stage += 1
        bar.close()
        self.objective_, self.components_ = best
        self.objective_history_ = history
        self.n_iter_ = n_iter
        self.converged_ = converged
        if not converged:
            warnings.warn(
                f"LMNN did not converge in max_iter={self.max_iter} L-BFGS iterations: the objective last changed "
                f"by {change:.3g} (relative), more than tol={self.tol:g}. Increase `max_iter` or `tol`.",
                ConvergenceWarning,
                stacklevel=3,
            )
        return self


def _lbfgs_round(L, X, y, targets, pairs, margin, mu, wm, smoothing, maxiter):
    """One L-BFGS round on the candidate ``pairs`` (or streaming all impostors when ``pairs`` is None)."""
    n_threads = blas_threads()  # the evaluations run their blocks on this many threads, each BLAS single-threaded
    # One BLAS thread: the evaluations are memory-bound gathers and small products, threaded by block
    # instead; idle OpenBLAS workers spinning between calls slow them down several-fold on few cores.
    with threadpool_limits(limits=1, user_api="blas"), Workers(n_threads) as workers:
        if pairs is None:  # more impostors than the memory budget: every evaluation searches afresh
            fun = partial(
                _streaming_flat, shape=L.shape, X=X, y=y, targets=targets, margin=margin, mu=mu, wm=wm,
                smoothing=smoothing, n_threads=n_threads,
            )
        else:
            graph = PairGraph(X, targets, pairs, workers, wm)
            fun = partial(
                _flat_loss_grad, shape=L.shape, X=X, targets=targets, pairs=pairs, graph=graph, margin=margin, mu=mu,
                wm=wm, smoothing=smoothing,
            )
        return minimize(
            fun,
            L.ravel(),
            jac=True,
            method="L-BFGS-B",
            # Rounds end at their budget or a failed line search; `tol` judges the exact objective.
            options={"maxiter": maxiter, "ftol": 1e-12, "gtol": 0.0, "maxcor": _MAXCOR},
        )


def _rescale_to_margin(L, X, targets, margin, working_memory) -> np.ndarray:
    """Shrink ``L`` so the median squared target distance is ``_RESCALE_MARGINS`` margins (never enlarge it).

    The objective is not scale-free: with distances far above the margin the pull term dominates and
    L-BFGS spends hundreds of iterations shrinking ``L``; shrinking much further would inflate the
    impostor set. The direction of ``L`` is kept.
    """
    d_target = target_distances(X @ L.T, targets, working_memory)[targets.mask]
    median = float(np.median(d_target)) if d_target.size else 0.0
    goal = _RESCALE_MARGINS * margin
    return L * np.sqrt(goal / median) if median > goal else L


def _best_scale(
    L, X, y, targets, margin, push_weight, working_memory, t_low=0.5, max_steps=4
) -> tuple[np.ndarray, tuple | None]:
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
    for _ in range(max_steps):
        Z = X @ L.T
        d_target = target_distances(Z, targets, working_memory)
        radius = lmnn_radius(d_target, targets, margin / t_low)
        try:
            pairs, d_pairs = find_impostors(
                Z, y, radius, working_memory=working_memory, max_pairs=_pair_budget(working_memory, targets.indices.shape[1])
            )
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


def _streaming_flat(flat, *, shape, X, y, targets, margin, mu, wm, smoothing, n_threads):
    loss, grad, _ = streaming_loss_and_grad(flat.reshape(shape), X, y, targets, margin, mu, wm, smoothing, n_threads=n_threads)
    return loss, grad.ravel()


def _flat_loss_grad(flat, *, shape, X, targets, pairs, graph, margin, mu, wm, smoothing):
    loss, grad = loss_and_grad(flat.reshape(shape), X, targets, pairs, graph, margin, mu, wm, smoothing)
    return loss, grad.ravel()


def _pair_budget(working_memory: float | None, n_neighbors: int) -> int:
    """How many candidate pairs the stored path may hold within ``working_memory`` (about 112 + 8k bytes each)."""
    return int(check_working_memory(working_memory) * 2**20 // (112 + 8 * n_neighbors))


def _exact_objective(
    X: np.ndarray,
    y: np.ndarray,
    L: np.ndarray,
    targets: TargetNeighbors,
    margin: float,
    push_weight: float,
    working_memory: float | None,
    slack: float = 0.0,
    max_pairs: int | None = None,
) -> tuple[float, ImpostorPairs | None, int]:
    """Exact objective of ``L`` and the impostor pairs within ``(1 + slack)`` x the radius (in distance).

    With more than ``max_pairs`` pairs the objective is computed by streaming and the pairs are ``None``.
    """
    Z = X @ L.T
    d_target = target_distances(Z, targets, working_memory)
    radius = lmnn_radius(d_target, targets, margin)
    try:
        pairs, d_pairs = find_impostors(Z, y, radius * (1.0 + slack) ** 2, working_memory=working_memory, max_pairs=max_pairs)
    except ImpostorBudgetExceeded:
        eps, _, n_active = streaming_loss_and_grad(L, X, y, targets, margin, push_weight, working_memory, with_grad=False)
        return eps, None, n_active
    eps, n_active = objective_on_pairs(d_target, targets, pairs, d_pairs, margin, push_weight)
    return eps, pairs, n_active


def lmnn_objective(
    X,
    y,
    *,
    M: np.ndarray | None = None,
    L: np.ndarray | None = None,
    n_neighbors: int = 3,
    margin: float = 1.0,
    push_weight: float = 0.5,
    working_memory: float | None = None,
) -> float:
    """The exact LMNN objective ``eps(M)`` over all impostors, with Euclidean target neighbours.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
    y : array-like of shape (n_samples,)
        Any hashable labels.
    M : array-like of shape (n_features, n_features), default=None
        PSD matrix; pass exactly one of ``M`` and ``L`` (``M = L^T L``).
    L : array-like of shape (n_components, n_features), default=None
    n_neighbors, margin, push_weight :
        As in :class:`LMNN`.
    working_memory : float, default=None
        Budget in MiB for the blockwise impostor search.

    Returns
    -------
    float
    """
    from metrickit._validation import check_array_2d
    from metrickit.distances.mahalanobis import Mahalanobis

    X = check_array_2d(X, "X")
    y = np.asarray(y)
    if y.ndim != 1 or len(y) != len(X):
        raise ValueError(f"`y` must be 1-D with one label per row of `X` ({len(X)}); got shape {y.shape}.")
    if (M is None) == (L is None):
        raise ValueError("Pass exactly one of `M` (the PSD matrix) or `L` (the linear map, M = L^T L).")
    metric = Mahalanobis(M) if M is not None else Mahalanobis(L=L)
    if metric.n_features != X.shape[1]:
        raise ValueError(f"The metric has {metric.n_features} features but `X` has {X.shape[1]}.")
    check_positive_int(n_neighbors, "n_neighbors")
    codes, _ = encode_labels(y)
    Xc = X - X.mean(axis=0)
    targets, _ = select_target_neighbors(Xc, codes, n_neighbors, working_memory=working_memory)
    return streaming_loss_and_grad(
        metric.components, Xc, codes, targets, margin, push_weight, working_memory, with_grad=False
    )[0]
