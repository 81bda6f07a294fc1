"""Large Margin Nearest Neighbor (LMNN) metric learning, as a scikit-learn estimator."""

from __future__ import annotations

import logging
import time
import warnings
from numbers import Integral, Real

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils import check_random_state
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import validate_data

from metrickit._progress import progress
from metrickit._validation import check_positive_int, check_real, check_working_memory, validate_choice
from metrickit.distances.psd import components_from_matrix
from metrickit.exceptions import ConvergenceWarning
from metrickit.linear._init import INIT_OPTIONS, initial_components
from metrickit.linear._lmnn_objective import select_target_neighbors, warn_small_classes
from metrickit.linear._lmnn_problem import CANDIDATE_SLACK, LMNNProblem
from metrickit.linear.base import MahalanobisMixin

__all__ = ["LMNN", "lmnn_objective"]

logger = logging.getLogger(__name__)

SOLVERS = ("auto", "lbfgs", "sdp")
_FIRST_ROUND_ITER = 5  # L-BFGS iterations before the first fresh impostor search; doubles each round
_INNER_MAX_ITER = 200  # ... up to this many between two searches
_SMOOTHING = (0.1, 0.01)  # Huber widths (x margin) of the first two rounds; then the exact hinge


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
        problem = LMNNProblem(Xc, codes, targets, self.margin, self.push_weight, self.working_memory)
        if self.solver == "sdp":
            return self._fit_sdp(problem, n_components)
        L0 = initial_components(self.init, Xc, codes, n_components, self.random_state_)
        L0, start = problem.best_scale(problem.rescale_to_margin(L0))
        return self._fit_lbfgs(problem, L0, start)

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

    def _fit_sdp(self, problem: LMNNProblem, n_components: int) -> "LMNN":
        from metrickit.linear._lmnn_sdp import solve_lmnn_sdp

        M, _, n_iter = solve_lmnn_sdp(problem.X, problem.y, problem.targets, problem.margin, problem.push_weight, verbose=self.verbose >= 2)
        self.components_ = components_from_matrix((M + M.T) / 2.0)
        self.objective_ = problem.exact_objective(self.components_)[0]
        self.objective_history_ = [self.objective_]
        self.n_iter_ = n_iter
        self.converged_ = True
        return self

    def _fit_lbfgs(self, problem: LMNNProblem, L: np.ndarray, start: tuple | None = None) -> "LMNN":
        """L-BFGS rounds from ``L``; ``start`` is ``(objective, pairs, n_active)`` at ``L`` when already known."""
        margin, budget = self.margin, problem.pair_budget
        eps, pairs, n_active = start or problem.exact_objective(L, CANDIDATE_SLACK, budget)
        history, best = [eps], (eps, L)
        n_iter, converged, change, stage = 0, False, np.inf, 0
        bar = progress(total=self.max_iter, quiet=self.verbose < 1, desc="LMNN", unit="it", leave=False)
        while n_iter < self.max_iter:
            smoothing = _SMOOTHING[stage] * margin if stage < len(_SMOOTHING) else 0.0
            round_start = time.perf_counter()
            maxiter = min(_FIRST_ROUND_ITER * 2**stage, _INNER_MAX_ITER, self.max_iter - n_iter)
            result = problem.lbfgs_round(L, pairs, smoothing, maxiter)
            steps = max(int(result.nit), 1)
            inner_seconds = time.perf_counter() - round_start
            n_iter += steps
            L = result.x.reshape(L.shape)
            eps, pairs, n_active = problem.exact_objective(L, CANDIDATE_SLACK, budget)
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
    return LMNNProblem(Xc, codes, targets, margin, push_weight, working_memory).streaming(metric.components, with_grad=False)[0]
