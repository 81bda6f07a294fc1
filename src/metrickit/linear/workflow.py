"""Fit-and-evaluate recipes used by the CLI, the demo and the benchmarks."""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from metrickit.linear.io import LinearMetricModel, model_from_lmnn
from metrickit.linear.lmnn import LMNN

__all__ = ["Preprocessor", "fit_preprocessor", "knn_error", "fit_lmnn_model"]


@dataclass(frozen=True)
class Preprocessor:
    """Optional standardisation and PCA, fitted on training data only."""

    mean: np.ndarray | None
    scale: np.ndarray | None
    projection: np.ndarray | None

    def __call__(self, X: np.ndarray) -> np.ndarray:
        X = np.asarray(X, dtype=np.float64)
        if self.mean is not None:
            X = X - self.mean
        if self.scale is not None:
            X = X / self.scale
        return X if self.projection is None else X @ self.projection.T


def fit_preprocessor(X_train: np.ndarray, *, standardize: bool = False, pca: int | None = None) -> Preprocessor:
    """Centre (always when either step is asked for), optionally scale to unit variance, optionally project on ``pca`` axes."""
    if not standardize and pca is None:
        return Preprocessor(None, None, None)
    mean = X_train.mean(axis=0)
    scale = None
    if standardize:
        scale = X_train.std(axis=0)
        scale[scale == 0] = 1.0
    projection = None
    if pca is not None:
        from sklearn.decomposition import PCA

        Xs = (X_train - mean) / (scale if scale is not None else 1.0)
        if not 1 <= pca <= min(Xs.shape):
            raise ValueError(f"`pca` ({pca}) must be between 1 and min(n_samples, n_features) = {min(Xs.shape)}.")
        projection = PCA(n_components=pca, svd_solver="full").fit(Xs).components_
    return Preprocessor(mean, scale, projection)


def knn_error(Z_train: np.ndarray, y_train: np.ndarray, Z_test: np.ndarray, y_test: np.ndarray, n_neighbors: int = 3) -> float:
    """Test error of a k-nearest-neighbour classifier in the given (already mapped) features."""
    from sklearn.neighbors import KNeighborsClassifier

    knn = KNeighborsClassifier(n_neighbors=n_neighbors, algorithm="brute").fit(Z_train, y_train)
    return float(1.0 - knn.score(Z_test, y_test))


def fit_lmnn_model(
    X_train: np.ndarray,
    y_train: np.ndarray,
    *,
    X_test: np.ndarray | None = None,
    y_test: np.ndarray | None = None,
    preprocessor: Preprocessor | None = None,
    eval_neighbors: int = 3,
    **lmnn_params,
) -> tuple[LinearMetricModel, dict]:
    """Fit LMNN on preprocessed training data; with a test set, report k-NN error before and after.

    Returns the model (with its preprocessing) and a results dict.
    """
    prep = preprocessor or Preprocessor(None, None, None)
    P_train = prep(X_train)
    start = time.perf_counter()
    lmnn = LMNN(**lmnn_params).fit(P_train, y_train)
    fit_seconds = time.perf_counter() - start
    model = model_from_lmnn(lmnn, mean=prep.mean, scale=prep.scale, projection=prep.projection)
    results = {
        "n_train": int(len(X_train)),
        "n_features": int(P_train.shape[1]),
        "n_components": int(lmnn.components_.shape[0]),
        "fit_seconds": fit_seconds,
        "objective": lmnn.objective_,
        "n_iter": lmnn.n_iter_,
        "converged": lmnn.converged_,
    }
    if X_test is not None and y_test is not None:
        P_test = prep(X_test)
        results["n_test"] = int(len(X_test))
        results["euclidean_error"] = knn_error(P_train, y_train, P_test, y_test, eval_neighbors)
        results["lmnn_error"] = knn_error(lmnn.transform(P_train), y_train, lmnn.transform(P_test), y_test, eval_neighbors)
        results["eval_neighbors"] = eval_neighbors
    return model, results
