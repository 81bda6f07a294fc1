"""Train one re-identification model per identity split: learn on the training persons, select on validation persons.

Each split (seeded) puts ``n_test`` persons aside as unseen test persons; of the others, ``n_val`` validate
(the epoch of a deep model, the PCA size of LMNN: by mAP of their own query/gallery protocol) and the rest train.

Methods (each ends as a model file):

- ``euclidean``: Euclidean distance on the standardised pixels.
- ``lmnn``: colour histograms of 6 horizontal stripes (16 bins per RGB channel, square-rooted), PCA, then LMNN with
  one target neighbour (every person has at least two images), stored as one histogram-plus-affine embedder.
- ``softmax``: conv-4 (128-d projection) trained as a classifier over the training persons; the projection is the embedding.
- ``triplet``: the same conv-4, L2-normalised, with batch-hard triplets (Hermans et al. 2017) on P x K person batches.

Deep methods train on P x K batches (persons with fewer than K images fill their places by drawing again) with
random horizontal flips.
"""

from __future__ import annotations

import time
from dataclasses import replace
from typing import TYPE_CHECKING, Any

import numpy as np

from metrickit.datasets.identity_split import IdentitySplit
from metrickit.datasets.labeled import LabeledSet, Preprocessing
from metrickit.datasets.reid import reid_queries
from metrickit.reid.config import BINS, STRIPES, ReidConfig

if TYPE_CHECKING:
    from metrickit.training.config import TrainConfig

__all__ = ["deep_train_config", "final_split", "split_persons", "standardised", "train_split", "validation_map"]


def split_persons(persons, seed: int, n_test: int = 50, n_val: int = 10) -> IdentitySplit:
    """Shuffle the persons with ``seed``: the first ``n_test`` are the test persons, the next ``n_val`` validate.

    ``n_test=0`` gives a final model's split (no test persons)."""
    names = np.array(sorted(set(np.asarray(persons).tolist())))
    if not (0 <= n_test and 2 <= n_val and n_test + n_val + 2 <= len(names)):
        raise ValueError(f"`n_test` ({n_test}) and `n_val` ({n_val}, at least 2) must leave at least 2 of the {len(names)} persons to train on.")
    order = names[np.random.default_rng(seed).permutation(len(names))]
    return IdentitySplit(int(seed), sorted(order[:n_test].tolist()), sorted(order[n_test : n_test + n_val].tolist()),
                     sorted(order[n_test + n_val :].tolist()))


def final_split(persons, seed: int, n_val: int = 10) -> IdentitySplit:
    """The split of the model to use after the seeds: ``n_val`` seeded validation persons, every other person trains."""
    return split_persons(persons, seed, 0, n_val)


def validation_map(embeddings: np.ndarray, data: LabeledSet) -> float:
    """mAP of ``data``'s own query/gallery protocol (queries: one per person and camera; gallery: all its images)."""
    from metrickit.evaluation.reid import reid_metrics

    queries, cameras = reid_queries(data), data.extra["camera"]
    return reid_metrics(embeddings[queries], embeddings, data.labels[queries], data.labels, cameras[queries], cameras,
                        query_positions=queries).mean_ap


def train_split(data: LabeledSet, split: IdentitySplit, config: ReidConfig, *, quiet: bool = True) -> tuple[Any, dict[str, Any]]:
    """``(model, record)``: a :class:`~metrickit.models.artifact.DeepMetricModel` trained on ``split.fit`` and what happened."""
    from metrickit.models.artifact import DeepMetricModel

    fit, val = data.of(split.fit), data.of(split.val)
    began = time.perf_counter()
    record: dict[str, Any] = {}
    if config.method == "lmnn":
        prep = data.preprocessing  # histograms need the [0, 1] pixels
        embedder, record = _fit_histogram_lmnn(fit, val, config, split.seed)
    else:
        prep = standardised(fit)
        if config.method == "euclidean":
            from metrickit.models.embedding import Pixels

            embedder = Pixels(int(np.prod(prep.shape)))
        else:
            embedder, record = _fit_deep(fit, val, prep, config, split.seed, quiet)
    embedder.eval()
    val_map = validation_map(embedder.embed(prep.apply(val.X)), val)
    record.update(method=config.method, split=split.as_dict(), val_map=val_map, train_seconds=time.perf_counter() - began)
    model = DeepMetricModel(embedder, prep, "euclidean", None, split.fit,
                            {"method": config.method, "dataset": "market1501_subset", "split": split.as_dict(), "config": config.as_dict(),
                             "val_map": val_map})
    return model, record


def standardised(fit: LabeledSet) -> Preprocessing:
    """``fit``'s preprocessing with the mean and standard deviation of its scaled pixels: the inputs of the pixel and
    deep methods."""
    scaled = fit.X.astype(np.float32) * np.float32(fit.preprocessing.scale)
    return replace(fit.preprocessing, mean=float(scaled.mean()), std=float(scaled.std() or 1.0))


def deep_train_config(config: ReidConfig, seed: int) -> "TrainConfig":
    """The training loop's config for a deep method of ``config``, seeded with ``seed`` (the split's)."""
    from metrickit.training.config import DataConfig, TrainConfig

    return TrainConfig(DataConfig(dataset="market1501_subset", n_val_classes=0), config.embedder, config.objective, config.batches,
                       replace(config.loop, seed=seed))


def _fit_histogram_lmnn(fit: LabeledSet, val: LabeledSet, config: ReidConfig, seed: int):
    from metrickit.linear.pca_lmnn import fit_pca_lmnn
    from metrickit.models.embedding import ColourHistogram

    histogram = ColourHistogram(3, STRIPES, BINS)
    X, X_val = (histogram.embed(part.preprocessing.apply(part.X)).astype(np.float64) for part in (fit, val))
    weight, bias, record = fit_pca_lmnn(X, fit.labels, config.lmnn.pca_candidates, lambda w, b: validation_map(X_val @ w.T + b, val),
                                        n_neighbors=config.lmnn.n_neighbors, seed=seed)
    embedder = ColourHistogram(3, STRIPES, BINS, embedding_dim=weight.shape[0])
    embedder.set_projection(weight, bias)
    return embedder, record


def _fit_deep(fit: LabeledSet, val: LabeledSet, prep, config: ReidConfig, seed: int, quiet: bool):
    from metrickit.training.loop import train_with_validation

    result = train_with_validation(deep_train_config(config, seed), LabeledSet(prep.apply(fit.X), fit.labels, prep),
                                   LabeledSet(prep.apply(val.X), val.labels, prep), lambda Z: validation_map(Z, val), "map",
                                   quiet=quiet)
    return result.model.embedder, {"best_epoch": result.best_epoch, "history": result.history, "processes": result.processes}
