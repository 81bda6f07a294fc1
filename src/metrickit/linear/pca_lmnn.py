"""PCA then LMNN as one affine map, with the PCA size chosen by a validation score (a baseline of the applications)."""

from __future__ import annotations

from typing import Callable, Sequence

import numpy as np

__all__ = ["fit_pca_lmnn"]


def fit_pca_lmnn(
    X: np.ndarray,
    labels: np.ndarray,
    candidates: Sequence[int],
    score: Callable[[np.ndarray, np.ndarray], float],
    *,
    n_neighbors: int = 3,
    seed: int = 0,
) -> tuple[np.ndarray, np.ndarray, dict]:
    """``(weight, bias, record)``: the map ``x -> weight @ x + bias`` = LMNN's ``L`` after PCA, for the PCA size in
    ``candidates`` (capped at ``n_samples - 1`` and ``n_features``) whose map ``score(weight, bias)`` rates highest
    (on validation data, which ``score`` closes over). ``record`` lists every size tried with its score."""
    from sklearn.decomposition import PCA

    from metrickit.linear.lmnn import LMNN

    X = np.asarray(X, dtype=np.float64)
    sizes = sorted({min(int(c), len(X) - 1, X.shape[1]) for c in candidates})
    tried, best = [], None
    for n in sizes:
        pca = PCA(n, random_state=seed).fit(X)
        lmnn = LMNN(n_neighbors=n_neighbors, random_state=seed).fit(pca.transform(X), labels)
        weight = lmnn.components_ @ pca.components_  # (n, n_features): x -> L P (x - mean)
        bias = -weight @ pca.mean_
        value = float(score(weight, bias))
        tried.append({"pca": n, "val_score": value, "n_iter": int(lmnn.n_iter_)})
        if best is None or value > best[0]:
            best = (value, n, weight, bias)
    value, n, weight, bias = best
    return weight, bias, {"pca": n, "pca_candidates": tried}
