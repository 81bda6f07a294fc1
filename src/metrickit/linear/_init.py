"""Initial linear maps for linear metric learners ('auto', 'identity', 'pca', 'lda', 'random', or an array)."""

from __future__ import annotations

import numpy as np
from sklearn.decomposition import PCA
from sklearn.discriminant_analysis import LinearDiscriminantAnalysis

INIT_OPTIONS = ("auto", "identity", "pca", "lda", "random")

__all__ = ["INIT_OPTIONS", "initial_components"]


def initial_components(
    init: str | np.ndarray, X: np.ndarray, y: np.ndarray, n_components: int, random_state: np.random.RandomState
) -> np.ndarray:
    """The starting ``L`` of shape (n_components, n_features).

    ``'auto'`` is ``'identity'`` when ``n_components == n_features`` (the Euclidean metric that
    selected the target neighbours) and ``'pca'`` otherwise (the best distance-preserving
    projection). ``'pca'`` rows are orthonormal principal axes; ``'lda'`` needs
    ``n_components <= n_classes - 1``.
    """
    n_features = X.shape[1]
    if isinstance(init, np.ndarray):
        if init.shape != (n_components, n_features):
            raise ValueError(
                f"`init` array must have shape (n_components, n_features) = ({n_components}, {n_features}); "
                f"got {init.shape}."
            )
        if not np.all(np.isfinite(init)):
            raise ValueError("`init` array must contain only finite values.")
        return np.array(init, dtype=np.float64)
    if init == "auto":
        init = "identity" if n_components == n_features else "pca"
    if init == "identity":
        return np.eye(n_components, n_features)
    if init == "random":
        return random_state.standard_normal((n_components, n_features)) / np.sqrt(n_features)
    if init == "pca":
        if n_components > min(X.shape):
            raise ValueError(
                f"init='pca' needs `n_components` ({n_components}) <= min(n_samples, n_features) = {min(X.shape)}."
            )
        pca = PCA(n_components=n_components, svd_solver="full", random_state=random_state)
        return pca.fit(X).components_.copy()
    n_classes = len(np.unique(y))
    if n_components > n_classes - 1:
        raise ValueError(
            f"init='lda' needs `n_components` ({n_components}) <= n_classes - 1 ({n_classes - 1}); "
            "use init='pca' instead."
        )
    lda = LinearDiscriminantAnalysis(n_components=n_components, solver="eigen")
    lda.fit(X, y)
    return lda.scalings_[:, :n_components].T.copy()
