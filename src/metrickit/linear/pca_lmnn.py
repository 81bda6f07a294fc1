"""PCA then LMNN as one affine map, with the PCA size chosen by a validation score (a baseline of the applications)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np

from metrickit._config import Config

__all__ = ["PcaLmnnConfig", "fit_pca_lmnn"]


@dataclass(frozen=True)
class PcaLmnnConfig(Config):
    """The PCA sizes to choose from (by a validation score) and LMNN's target neighbours."""

    pca_candidates: tuple[int, ...] = (16, 32, 64, 128)
    n_neighbors: int = 3

    def __post_init__(self) -> None:
        object.__setattr__(self, "pca_candidates", tuple(int(c) for c in self.pca_candidates))
        if not self.pca_candidates or any(c < 1 for c in self.pca_candidates):
            raise ValueError(f"`pca_candidates` must be positive integers; got {self.pca_candidates!r}.")
        if isinstance(self.n_neighbors, bool) or int(self.n_neighbors) != self.n_neighbors or self.n_neighbors < 1:
            raise ValueError(f"`n_neighbors` must be an integer >= 1; got {self.n_neighbors!r}.")


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
