import re
import warnings

import numpy as np
import pytest
from sklearn.datasets import load_iris
from sklearn.model_selection import GridSearchCV
from sklearn.neighbors import KNeighborsClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from metrickit.exceptions import ConvergenceWarning
from metrickit.linear import LMNN, lmnn_objective


def _blobs(rng, n=60, d=3, n_classes=3, spread=1.5):
    centers = rng.normal(size=(n_classes, d)) * spread
    y = np.arange(n) % n_classes
    return centers[y] + rng.normal(size=(n, d)), y


@pytest.fixture(scope="module")
def iris():
    X, y = load_iris(return_X_y=True)
    return StandardScaler().fit_transform(X), y


def test_fit_lowers_the_exact_objective_and_reports_it(rng):
    X, y = _blobs(rng)
    model = LMNN(random_state=0).fit(X, y)
    assert model.objective_ < model.objective_history_[0]
    assert model.objective_ == pytest.approx(lmnn_objective(X, y, L=model.components_), rel=1e-10)
    assert model.converged_ and model.n_iter_ >= 1
    np.testing.assert_allclose(model.get_mahalanobis_matrix(), model.components_.T @ model.components_)


def test_lbfgs_is_within_one_percent_of_the_sdp_on_iris(iris):
    X, y = iris
    exact = LMNN(solver="sdp").fit(X, y)
    fast = LMNN(solver="lbfgs").fit(X, y)
    assert fast.objective_ <= exact.objective_ * 1.01
    assert exact.objective_ <= fast.objective_ * (1 + 1e-6)  # the SDP is the optimum


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_lbfgs_is_within_one_percent_of_the_sdp_on_synthetic_problems(seed):
    rng = np.random.default_rng(seed)
    X, y = _blobs(rng, n=45, d=3, spread=1.0)
    X[:, 2] *= 5.0  # a noisy feature LMNN must learn to shrink
    exact = LMNN(solver="sdp", n_neighbors=2).fit(X, y)
    fast = LMNN(n_neighbors=2).fit(X, y)
    assert fast.objective_ <= exact.objective_ * 1.01


def test_sdp_refuses_large_problems_naming_the_size(rng):
    X, y = _blobs(rng, n=501, d=2)
    with pytest.raises(ValueError, match=re.escape("solver='sdp' is limited to 500 samples (it lists every triplet); got n_samples=501.")):
        LMNN(solver="sdp").fit(X, y)


def test_rectangular_map_with_fewer_components(rng):
    X, y = _blobs(rng, d=5)
    model = LMNN(n_components=2).fit(X, y)
    assert model.components_.shape == (2, 5)
    assert model.transform(X).shape == (60, 2)


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_works_in_a_pipeline_and_grid_search(iris):
    X, y = iris
    pipe = make_pipeline(LMNN(max_iter=50), KNeighborsClassifier(n_neighbors=3))
    search = GridSearchCV(pipe, {"lmnn__n_neighbors": [1, 3]}, cv=3).fit(X, y)
    assert search.best_score_ > 0.9


def test_string_and_mixed_labels_are_accepted(rng):
    X, y = _blobs(rng)
    names = np.array(["setosa", "versicolor", "virginica"])[y]
    a = LMNN(random_state=0).fit(X, names)
    b = LMNN(random_state=0).fit(X, y)
    np.testing.assert_allclose(a.components_, b.components_)
    assert list(a.classes_) == ["setosa", "versicolor", "virginica"]


def test_small_classes_warn_and_singletons_still_fit(rng):
    X, y = _blobs(rng, n=30)
    y = y.copy()
    y[:2] = 7  # class of two points: one target each
    y[2] = 8  # singleton: no targets, still an impostor
    with pytest.warns(UserWarning, match=r"2 class\(es\) have at most `n_neighbors` \(3\) points"):
        model = LMNN().fit(X, y)
    assert model.objective_ == pytest.approx(lmnn_objective(X, y, L=model.components_), rel=1e-10)


def test_too_few_iterations_warn_and_flag_non_convergence(rng):
    X, y = _blobs(rng, spread=0.5)
    with pytest.warns(ConvergenceWarning, match="did not converge in max_iter=2"):
        model = LMNN(max_iter=2, tol=0.0).fit(X, y)
    assert not model.converged_


@pytest.mark.parametrize(
    "params, message",
    [
        ({"n_components": 7}, "`n_components` (7) cannot be greater than the number of features (3)."),
        ({"n_components": 0}, "`n_components` must be >= 1; got 0."),
        ({"n_neighbors": 0}, "`n_neighbors` must be >= 1; got 0."),
        ({"push_weight": 1.0}, "`push_weight` must lie in [0, 1); got 1."),
        ({"margin": -1.0}, "`margin` must lie in (0, inf]; got -1."),
        ({"solver": "newton"}, "`solver` must be one of 'auto', 'lbfgs', 'sdp'; got 'newton'."),
        ({"init": "magic"}, "`init` must be one of 'auto', 'identity', 'pca', 'lda', 'random'; got 'magic'."),
        ({"init": np.eye(2)}, "`init` array must have shape (n_components, n_features) = (3, 3); got (2, 2)."),
        ({"solver": "sdp", "n_components": 2}, "solver='sdp' learns a full-rank M, so `n_components` must be None or 3; got 2."),
    ],
)
def test_bad_parameters_name_the_argument(rng, params, message):
    X, y = _blobs(rng)
    with pytest.raises(ValueError, match=re.escape(message)):
        LMNN(**params).fit(X, y)


def test_bad_inputs_give_clear_errors(rng):
    X, y = _blobs(rng)
    X_nan = X.copy()
    X_nan[0, 0] = np.nan
    with pytest.raises(ValueError, match="Input X contains NaN"):
        LMNN().fit(X_nan, y)
    X_inf = X.copy()
    X_inf[0, 0] = np.inf
    with pytest.raises(ValueError, match="Input X contains infinity"):
        LMNN().fit(X_inf, y)
    with pytest.raises(ValueError, match=re.escape("`y` must contain at least two classes; got one class (0) in 60 samples.")):
        LMNN().fit(X, np.zeros(60, dtype=int))
    with pytest.raises(ValueError, match="inconsistent numbers of samples"):
        LMNN().fit(X, y[:-1])
    with pytest.raises(ValueError, match="Expected 2D array, got 1D array"):
        LMNN().fit(X[:, 0], y)
    with pytest.raises(ValueError, match="Unknown label type: continuous"):
        LMNN().fit(X, rng.normal(size=60))
    with pytest.raises(ValueError, match="could not convert string to float|dtype='numeric' is not compatible"):
        LMNN().fit(np.array([["a", "b"]] * 4), [0, 0, 1, 1])
    with pytest.raises(ValueError, match="Every class in `y` has a single sample"):
        LMNN().fit(X[:3], [0, 1, 2])


def test_transform_checks_the_feature_count(rng):
    X, y = _blobs(rng)
    model = LMNN(max_iter=5).fit(X, y)
    with pytest.raises(ValueError, match="X has 2 features, but LMNN is expecting 3 features"):
        model.transform(X[:, :2])


def test_init_options_all_fit(rng):
    X, y = _blobs(rng, d=4)
    for init in ("identity", "pca", "random"):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            LMNN(init=init, max_iter=20, random_state=0).fit(X, y)
    assert LMNN(n_components=2, init="lda", max_iter=20).fit(X, y).components_.shape == (2, 4)
    with pytest.raises(ValueError, match=re.escape("init='lda' needs `n_components` (3) <= n_classes - 1 (2)")):
        LMNN(n_components=3, init="lda").fit(X, y)


def test_progress_bar_only_with_verbose(rng, capsys):
    X, y = _blobs(rng)
    LMNN(verbose=0).fit(X, y)
    assert "LMNN" not in capsys.readouterr().err
    LMNN(verbose=1).fit(X, y)
    assert "LMNN" in capsys.readouterr().err


@pytest.mark.slow
def test_peak_memory_at_fifty_thousand_points_stays_far_below_n_squared():
    import tracemalloc

    rng = np.random.default_rng(0)
    n, d = 50_000, 10
    centers = rng.normal(size=(10, d)) * 3.0
    y = rng.integers(0, 10, size=n)
    X = centers[y] + rng.normal(size=(n, d))
    tracemalloc.start()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        LMNN(max_iter=10, working_memory=256).fit(X, y)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    n_squared_bytes = n * n * 8  # 20 GB: one dense n x n float64 matrix
    assert peak < 1.5 * 2**30, f"peak {peak / 2**20:.0f} MiB"
    assert peak < n_squared_bytes / 10


def test_a_tiny_memory_budget_streams_impostors_and_stays_exact(rng, monkeypatch):
    import metrickit.linear._lmnn_problem as lmnn_module

    X, y = _blobs(rng, n=90, spread=0.3)  # overlapping classes: many impostors
    stored = LMNN(random_state=0).fit(X, y)
    calls = []
    real = lmnn_module.streaming_loss_and_grad
    monkeypatch.setattr(lmnn_module, "streaming_loss_and_grad", lambda *a, **k: calls.append(1) or real(*a, **k))
    streamed = LMNN(random_state=0, working_memory=0.01).fit(X, y)  # ~77 pairs fit in 0.01 MiB
    assert len(calls) > 1  # the rounds streamed instead of storing pairs
    assert streamed.objective_ == pytest.approx(lmnn_objective(X, y, L=streamed.components_), rel=1e-10)
    assert streamed.objective_ == pytest.approx(stored.objective_, rel=2e-2)
