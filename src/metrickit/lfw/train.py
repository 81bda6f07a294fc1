"""Train one LFW experiment's model: learn from its training data, set its threshold on its calibration pairs.

Methods (each ends as a model file with its face crop, standardisation and threshold):

With ``flip``, each model embeds the average of a face's features and its mirror image's (the classic pipeline also
learns on those averages).

- ``euclidean``: the standardised pixels. ``pca``: PCA of the pixels (whitened when ``whiten``).
- ``hog-pca``: HOG descriptors (:class:`~metrickit.models.embedding.HOG`, square-rooted by default) then PCA; ``hog-kissme`` adds KISSME
  (Koestinger et al. 2012: ``M = inv(cov of matched differences) - inv(cov of mismatched differences)``, clipped to
  PSD) learned from the training folds' pairs; ``hog-lmnn`` adds LMNN on the training people (unrestricted only).
- a deep loss, trained from scratch: in the unrestricted setting on class-balanced P x K batches of the training people;
  in the restricted setting (contrastive only) on the training pairs themselves, each batch a set of given pairs.

The model keeps the experiment's record (view, folds, the people it trained on), which evaluation checks against
the pairs it is asked to score.
"""

from __future__ import annotations

import time
from dataclasses import replace
from typing import Any

import numpy as np

from metrickit.datasets.labeled import LabeledSet
from metrickit.datasets.lfw import PairList
from metrickit.lfw.config import CLASSIC_METHODS, LfwConfig
from metrickit.lfw.protocol import Experiment, TrainingData, best_accuracy_threshold, training_data

__all__ = ["kissme", "pair_distances", "train_experiment"]


def pair_distances(embed, data: LabeledSet, pairs: PairList) -> np.ndarray:
    """Euclidean distances of ``pairs``' images under ``embed`` (raw images -> embeddings), each image embedded once."""
    used, first, second = pairs.local()
    return _distances(np.asarray(embed(data.X[used]), dtype=np.float64), first, second)


def _distances(embeddings: np.ndarray, first: np.ndarray, second: np.ndarray) -> np.ndarray:
    return np.linalg.norm(embeddings[first] - embeddings[second], axis=1)


def kissme(differences_same: np.ndarray, differences_other: np.ndarray) -> np.ndarray:
    """KISSME's map ``L`` (``M = L^T L``): ``M = inv(S) - inv(D)`` for the covariances ``S``, ``D`` of matched and
    mismatched pair differences (rows), with its negative eigenvalues set to zero."""
    covariance = lambda d: d.T @ d / len(d)  # noqa: E731  (differences have mean zero by symmetry)
    metric = np.linalg.inv(covariance(differences_same)) - np.linalg.inv(covariance(differences_other))
    values, vectors = np.linalg.eigh((metric + metric.T) / 2)
    return (vectors * np.sqrt(np.clip(values, 0, None))).T


def train_experiment(data: LabeledSet, experiment: Experiment, config: LfwConfig, *, monitor: PairList | None = None,
                     quiet: bool = True) -> tuple[Any, dict[str, Any]]:
    """``(model, record)`` for ``experiment``: a :class:`~metrickit.models.artifact.DeepMetricModel` with its threshold
    (None in View 1) and what happened. ``monitor`` pairs (View 1 only: development) are scored after every epoch of
    a deep method, and its best epoch kept; View 2 models train for the configured epochs."""
    from metrickit.models.artifact import DeepMetricModel

    if monitor is not None and experiment.view != "view1":
        raise ValueError("only View 1 (development) may watch pairs while training; View 2 models train for a fixed budget.")
    began = time.perf_counter()
    training = training_data(data, experiment, config.setting, min_images=config.min_images)
    scaled = training.images.X.astype(np.float32) * np.float32(data.preprocessing.scale)
    prep = replace(data.preprocessing, mean=float(scaled.mean()), std=float(scaled.std() or 1.0))
    del scaled
    record: dict[str, Any] = {"training": training.summary()}
    if config.method == "euclidean":
        from metrickit.models.embedding import Pixels

        embedder = Pixels(int(np.prod(prep.shape)))
    elif config.method in CLASSIC_METHODS:
        embedder = _fit_linear(data, experiment, training, prep, config)
    else:
        embedder, record["deep"] = _fit_deep(data, training, prep, config, monitor, quiet)
    if config.flip:
        from metrickit.models.embedding import FlipAverage

        embedder = FlipAverage.around(embedder)
    embedder.eval()
    embed = lambda raw: embedder.embed(prep.apply(raw))  # noqa: E731
    threshold = None
    if experiment.calibration is not None:
        threshold, accuracy = best_accuracy_threshold(pair_distances(embed, data, experiment.calibration), experiment.calibration.same)
        record["calibration_accuracy"] = accuracy
    trained_people = training.people
    record.update(method=config.method, setting=config.setting, experiment=experiment.name, threshold=threshold,
                  train_seconds=time.perf_counter() - began)
    info = {"method": config.method, "dataset": "lfw", "setting": config.setting, "experiment": experiment.record(data),
            "trained_people": trained_people, "final": experiment.test is None, "config": config.as_dict(), "record": record}
    classes = trained_people if config.setting == "unrestricted" else []
    return DeepMetricModel(embedder, prep, "euclidean", threshold, classes, info), record


def _fit_linear(data: LabeledSet, experiment: Experiment, training: TrainingData, prep, config: LfwConfig):
    """PCA of pixels or HOG descriptors, then KISSME or LMNN, as one embedder with an affine head."""
    from sklearn.decomposition import PCA

    from metrickit.models.embedding import HOG, FlipAverage, LinearEmbedder, Pixels

    settings = config.linear
    shape = dict(image_size=prep.shape[1:], orientations=settings.orientations, cell=settings.cell, block=settings.block, root=settings.root)
    hog = None if config.method == "pca" else HOG(**shape)
    describer = Pixels(int(np.prod(prep.shape))) if hog is None else hog
    if config.flip:  # learn on the descriptors the model will compute: those of the face averaged with its mirror image
        describer = FlipAverage.around(describer)
    describe = lambda raw: describer.embed(prep.apply(raw))  # noqa: E731
    X = describe(training.images.X).astype(np.float64)
    pca = PCA(min(settings.pca_dim, *X.shape), whiten=settings.whiten, random_state=config.loop.seed).fit(X)
    weight = pca.components_ / (np.sqrt(pca.explained_variance_)[:, None] if settings.whiten else 1.0)
    if config.method == "hog-kissme":  # on the training folds' pairs, in either setting
        pairs = experiment.fit
        if training.same is not None:  # restricted: the training images are the pairs' images, already described
            described, first, second = X, training.first, training.second
        else:
            used, first, second = pairs.local()
            described = describe(data.X[used]).astype(np.float64)
        differences = ((described[first] - described[second]) @ weight.T)  # the mean cancels in a difference
        weight = kissme(*pairs.split(differences)) @ weight
    elif config.method == "hog-lmnn":
        from metrickit.linear.lmnn import LMNN

        labels = training.images.labels
        names, counts = np.unique(labels, return_counts=True)
        keep = np.isin(labels, names[counts > settings.target_neighbors])
        Z = (X[keep] - pca.mean_) @ weight.T
        lmnn = LMNN(n_neighbors=settings.target_neighbors, random_state=config.loop.seed).fit(Z, labels[keep])
        weight = lmnn.components_ @ weight
    bias = -weight @ pca.mean_
    if hog is None:
        return LinearEmbedder.from_affine(weight, bias)
    return HOG.with_affine(weight, bias, **shape)


def _fit_deep(data: LabeledSet, training: TrainingData, prep, config: LfwConfig, monitor: PairList | None, quiet: bool):
    """A deep embedder from scratch: identities on P x K batches (unrestricted) or the given pairs (restricted)."""
    import torch

    from metrickit.training.config import DataConfig, TrainConfig
    from metrickit.training.loop import ClassSplit, build_model, train, train_with_validation

    score = watched = None
    if monitor is not None:  # View 1: pairsDevTest's ROC AUC after every epoch
        from metrickit.evaluation.verification import roc_auc

        used, watched_first, watched_second = monitor.local()
        watched = LabeledSet(prep.apply(data.X[used]), data.labels[used], prep)
        score = lambda embeddings: roc_auc(*monitor.split(_distances(embeddings, watched_first, watched_second)))  # noqa: E731

    inputs = prep.apply(training.images.X)
    if training.setting == "unrestricted":
        train_config = TrainConfig(DataConfig(dataset="lfw", n_val_classes=0), config.embedder, config.objective, config.batches, config.loop)
        fit = LabeledSet(inputs, training.images.labels, prep)
        if watched is not None:
            result = train_with_validation(train_config, fit, watched, score, "roc_auc", quiet=quiet)
        else:
            result = train(train_config, quiet=quiet, split=ClassSplit(fit, None, None, sorted(set(fit.labels.tolist())), [], []))
        return result.model.embedder, {"best_epoch": result.best_epoch, "history": result.history}
    from metrickit.lfw.pairs import GivenPairs, PairBatchSampler
    from metrickit.training.engine import fit as fit_loop

    first, second, same = training.first, training.second, training.same
    rows = np.stack([first, second], 1).ravel()  # pair p's images at rows 2p and 2p + 1
    codes = np.stack([np.arange(len(same)), np.where(same, np.arange(len(same)), -1 - np.arange(len(same)))], 1).ravel()
    batch_pairs = config.batches.n_classes_per_batch * config.batches.n_per_class // 2
    sampler = PairBatchSampler(len(same), batch_pairs, n_batches=config.loop.batches_per_epoch, seed=config.loop.seed)
    result = fit_loop(config.loop, lambda: build_model(config.embedder, config.objective.loss, prep.shape),
                      lambda model: GivenPairs(config.objective.margin_value), sampler,
                      torch.from_numpy(inputs[rows]), torch.from_numpy(codes), validate=(lambda model: _watch(model, watched, score)) if watched is not None else None,
                      quiet=quiet, unit="batch")
    return result.model, {"best_epoch": result.best_epoch, "history": result.history}


def _watch(model, watched: LabeledSet, score) -> tuple[float, dict[str, float]]:
    """The loop's validator for View 1's pairs (as :func:`~metrickit.training.loop.train_with_validation` records it)."""
    value = float(score(model.embed(watched.X)))
    return value, {"val_roc_auc": value}
