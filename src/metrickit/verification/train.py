"""Train one verification model per fold: learn on the fold's training identities, calibrate the threshold on its
validation identities. The test identities are never touched here.

Methods (every one ends as a model file with its preprocessing and threshold):

- ``euclidean``: Euclidean distance on the standardised pixels (nothing learned but the threshold).
- ``lmnn``: PCA then LMNN (k = 3) on the pixels of the training identities; the PCA dimension is chosen
  from ``pca_candidates`` by validation ROC AUC. Stored as one affine map.
- ``softmax``: conv-4 with a 128-d projection, trained as a classifier over the training identities;
  the projection is the embedding.
- ``contrastive`` (Siamese pairs, margin 1) and ``triplet`` (semi-hard, margin 0.2): the same conv-4,
  L2-normalised, on class-balanced P x K batches.

Training classes are the identities; for signatures each user's skilled forgeries form a class of their
own, so that genuine-vs-forgery pairs are negatives, as SigNet's dissimilar pairs are. Deep methods keep
the epoch with the best validation ROC AUC. The threshold is the EER threshold of the validation pairs.
"""

from __future__ import annotations

import time
from dataclasses import replace
from typing import Any

import numpy as np

from metrickit.datasets.identities import training_classes
from metrickit.datasets.labeled import LabeledSet
from metrickit.evaluation.verification import verification_pairs, equal_error_rate, verification_report
from metrickit.verification.config import VerifyConfig
from metrickit.datasets.identity_split import IdentitySplit

__all__ = ["genuine_impostor_distances", "train_fold"]


def genuine_impostor_distances(embeddings: np.ndarray, data: LabeledSet) -> tuple[np.ndarray, np.ndarray]:
    """Distances of ``data``'s genuine and impostor pairs (:func:`verification_pairs`; forgeries count where there are any)."""
    from metrickit.distances.functional import paired_euclidean_distances

    forged = data.extra["forged"]
    first, second, genuine = verification_pairs(data.labels, forged if forged.any() else None)
    distances = paired_euclidean_distances(embeddings[first], embeddings[second])
    return distances[genuine], distances[~genuine]


def train_fold(data: LabeledSet, split: IdentitySplit, config: VerifyConfig, *, quiet: bool = True) -> tuple[Any, dict[str, Any]]:
    """``(model, record)``: a :class:`~metrickit.models.artifact.DeepMetricModel` with its calibrated threshold, and what happened."""
    from metrickit.models.artifact import DeepMetricModel

    fit, val = data.of(split.fit), data.of(split.val)
    scaled = fit.X.astype(np.float32) * np.float32(data.preprocessing.scale)
    prep = replace(data.preprocessing, mean=float(scaled.mean()), std=float(scaled.std() or 1.0))
    began = time.perf_counter()
    record: dict[str, Any] = {}
    if config.method == "euclidean":
        from metrickit.models.embedding import Pixels

        embedder = Pixels(int(np.prod(prep.shape)))
    elif config.method == "lmnn":
        embedder, record = _fit_lmnn(fit, val, prep, config)
    else:
        embedder, record = _fit_deep(fit, val, prep, config, quiet)
    embedder.eval()
    embed = lambda part: embedder.embed(prep.apply(part.X))  # noqa: E731
    genuine, impostor = genuine_impostor_distances(embed(val), val)
    _, threshold = equal_error_rate(genuine, impostor)
    report = verification_report(genuine, impostor, threshold)
    record.update(method=config.method, split=split.as_dict(), threshold=threshold, val=report.as_dict(),
                  train_seconds=time.perf_counter() - began)
    model = DeepMetricModel(embedder, prep, "euclidean", threshold, sorted(set(training_classes(fit).tolist())),
                            {"method": config.method, "dataset": data.name, "split": split.as_dict(), "final": not split.test,
                             "config": config.as_dict(), "val": report.as_dict()})
    return model, record


def _fit_lmnn(fit: LabeledSet, val: LabeledSet, prep, config: VerifyConfig):
    from metrickit.evaluation.verification import roc_auc
    from metrickit.linear.pca_lmnn import fit_pca_lmnn
    from metrickit.models.embedding import LinearEmbedder

    X = prep.apply(fit.X).reshape(len(fit.X), -1)
    X_val = prep.apply(val.X).reshape(len(val.X), -1).astype(np.float64)
    weight, bias, record = fit_pca_lmnn(X, training_classes(fit), config.lmnn.pca_candidates, lambda w, b: roc_auc(*genuine_impostor_distances(X_val @ w.T + b, val)),
                                        n_neighbors=config.lmnn.n_neighbors, seed=config.loop.seed)
    return LinearEmbedder.from_affine(weight, bias), record


def _fit_deep(fit: LabeledSet, val: LabeledSet, prep, config: VerifyConfig, quiet: bool):
    from metrickit.evaluation.verification import roc_auc
    from metrickit.training.config import DataConfig, TrainConfig
    from metrickit.training.loop import train_with_validation

    train_config = TrainConfig(DataConfig(dataset=fit.name, n_val_classes=0), config.embedder, config.objective, config.batches, config.loop)
    result = train_with_validation(train_config, LabeledSet(prep.apply(fit.X), training_classes(fit), prep),
                                   LabeledSet(prep.apply(val.X), training_classes(val), prep), lambda Z: roc_auc(*genuine_impostor_distances(Z, val)),
                                   "roc_auc", quiet=quiet)
    return result.model.embedder, {"best_epoch": result.best_epoch, "history": result.history, "processes": result.processes}
