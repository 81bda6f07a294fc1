"""Fit-and-evaluate recipes used by the CLI, the demo and the benchmarks."""

from __future__ import annotations

import time
import numpy as np

from metrickit.linear.features import FeatureTransform, fit_feature_transform
from metrickit.linear.io import LinearMetricModel, model_from_lmnn
from metrickit.linear.lmnn import LMNN
from metrickit.runs import tagged

__all__ = ["evaluate_lmnn_on", "fit_lmnn_model", "fit_lmnn_on", "knn_error", "transform_file"]


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
    preprocessor: FeatureTransform | None = None,
    eval_neighbors: int = 3,
    **lmnn_params,
) -> tuple[LinearMetricModel, dict]:
    """Fit LMNN on preprocessed training data; with a test set, report k-NN error before and after.

    Returns the model (with its preprocessing) and a results dict.
    """
    prep = preprocessor or FeatureTransform(None, None, None)
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


def fit_lmnn_on(
    source: dict,
    *,
    standardize: bool = False,
    pca: int | None = None,
    out: str | None = None,
    overwrite: bool = False,
    **lmnn_params,
) -> dict:
    """What ``metrickit lmnn fit`` does: load the data (``source``: the keywords of
    :func:`~metrickit.datasets.load_split`), fit the preprocessing and LMNN on the training part, report k-NN error on
    the held-out part, and save the model to ``out`` (checked before the fit, written atomically)."""
    from metrickit._io import check_can_write
    from metrickit.datasets import load_split
    from metrickit.linear.io import save_model

    if out:
        check_can_write(out, overwrite=overwrite)  # fail before a long fit, not after
    split = load_split(**source)
    prep = fit_feature_transform(split.X_train, standardize=standardize, pca=pca)
    model, results = fit_lmnn_model(split.X_train, split.y_train, X_test=split.X_test, y_test=split.y_test, preprocessor=prep,
                                    **lmnn_params)
    results["data"] = split.info
    model.metadata["data"] = split.info
    model.metadata["preprocessing"] = {"standardize": standardize, "pca": pca}
    if out:
        save_model(model, out, overwrite=overwrite)
        results["model"] = str(out)
    return tagged("lmnn-fit", results)


def evaluate_lmnn_on(model_path: str, source: dict, *, n_neighbors: int = 3) -> dict:
    """What ``metrickit lmnn evaluate`` does: k-NN test error of a saved model's distance and of Euclidean distance on
    the same preprocessed features, the training part as the reference set."""
    from metrickit.datasets import load_split
    from metrickit.linear.io import load_model

    model = load_model(model_path)
    split = load_split(**source)
    if split.X_test is None:
        raise ValueError("evaluate needs a held-out part: use --test-size > 0 (MNIST uses its test set).")
    P_train, P_test = model.preprocess(split.X_train), model.preprocess(split.X_test)
    L = model.components
    return tagged("lmnn-evaluate", {
        "model": str(model_path),
        "data": split.info,
        "n_train": int(len(P_train)),
        "n_test": int(len(P_test)),
        "eval_neighbors": n_neighbors,
        "euclidean_error": knn_error(P_train, split.y_train, P_test, split.y_test, n_neighbors),
        "lmnn_error": knn_error(P_train @ L.T, split.y_train, P_test @ L.T, split.y_test, n_neighbors),
    })


def transform_file(model_path: str, features: str, out: str, *, label_column: int | None = None, overwrite: bool = False) -> dict:
    """What ``metrickit lmnn transform`` does: map a features file with a saved model into ``out`` (.npy, atomic)."""
    from metrickit._io import atomic_path, check_can_write
    from metrickit.datasets import load_features
    from metrickit.linear.io import load_model

    check_can_write(out, overwrite=overwrite)
    model = load_model(model_path)
    X, _ = load_features(features, label_column=label_column)
    Z = model.transform(X)
    with atomic_path(out, overwrite=overwrite) as tmp:
        with open(tmp, "wb") as fh:
            np.save(fh, Z)
    return {"model": str(model_path), "n_samples": int(Z.shape[0]), "n_components": int(Z.shape[1]), "out": str(out)}
