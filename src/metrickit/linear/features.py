"""Feature preprocessing fitted before a linear metric: optional centring, scaling to unit variance and PCA."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["FeatureTransform", "fit_feature_transform"]


@dataclass(frozen=True)
class FeatureTransform:
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


def fit_feature_transform(X_train: np.ndarray, *, standardize: bool = False, pca: int | None = None) -> FeatureTransform:
    """Centre (always when either step is asked for), optionally scale to unit variance, optionally project on ``pca`` axes."""
    if not standardize and pca is None:
        return FeatureTransform(None, None, None)
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
    return FeatureTransform(mean, scale, projection)
