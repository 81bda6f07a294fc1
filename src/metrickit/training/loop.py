"""Train an embedding network with a metric loss, validate on held-out classes, save an exact-resume checkpoint.

Data flow: the training split's ``train_classes`` lose ``n_val_classes`` (chosen by the seed) to
validation; class-balanced P x K batches come from the rest. After each epoch the validation
classes are embedded (eval mode) and ranked leave-one-out (MAP@R); the best epoch's weights become
the model. Test classes (never seen in training) are evaluated once, on the test split, at the end.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np
import torch

from metrickit import distributed
from metrickit.datasets.labeled import LabeledSet, load_labeled, split_by_classes
from metrickit.evaluation.retrieval import RetrievalReport, retrieval_metrics
from metrickit.models.artifact import DeepMetricModel
from metrickit.models.embedding import EmbeddingNet, build_embedder
from metrickit.samplers import ClassBalancedBatchSampler
from metrickit.training.config import EmbedderConfig, TrainConfig
from metrickit.training.engine import fit
from metrickit.training.objective import Objective

__all__ = ["ClassSplit", "TrainResult", "build_model", "prepare_classes", "train", "train_with_validation"]


@dataclass
class ClassSplit:
    """The training set (fit classes), validation set (held-out training classes) and test set (unseen classes;
    None when the caller evaluates them itself)."""

    fit: LabeledSet
    val: LabeledSet | None
    test: LabeledSet | None
    fit_classes: list
    val_classes: list
    test_classes: list


@dataclass
class TrainResult:
    model: DeepMetricModel
    history: list[dict[str, Any]]
    best_epoch: int
    test: RetrievalReport | None
    split: ClassSplit
    processes: dict[str, Any]  # world size, backend, each rank's count of training inputs (FitResult.processes)


def prepare_classes(config: TrainConfig) -> ClassSplit:
    """Load the dataset and cut it by classes as the config says."""
    data_config = config.data
    source = dict(data_dir=data_config.data_dir, image_size=data_config.image_size, labels=data_config.labels,
                  label_column=data_config.label_column)
    data = load_labeled(data_config.dataset, "train", **source)
    test_data = load_labeled(data_config.dataset, "test", **source) if data_config.dataset == "mnist" else data
    available = sorted(np.unique(data.labels).tolist(), key=str)
    train_classes, test_classes = data_config.class_split(available)
    n_val = data_config.n_val_classes
    if n_val == 1 or n_val > len(train_classes) - 2:
        raise ValueError(
            f"`n_val_classes` ({n_val}) must be 0, or at least 2 (ranking needs two classes) while leaving "
            f"at least 2 of the {len(train_classes)} training classes to train on."
        )
    rng = np.random.default_rng(config.loop.seed)
    val_classes = sorted(rng.choice(np.array(train_classes, dtype=object), n_val, replace=False).tolist(), key=str) if n_val else []
    fit_classes = [c for c in train_classes if c not in set(val_classes)]
    fit = data.subset(split_by_classes(data.labels, fit_classes))
    val = data.subset(split_by_classes(data.labels, val_classes)) if val_classes else None
    test = test_data.subset(split_by_classes(test_data.labels, test_classes))
    return ClassSplit(fit, val, test, fit_classes, val_classes, test_classes)


def build_model(embedder: EmbedderConfig, loss: str, shape: tuple[int, ...]) -> EmbeddingNet:
    """The configured embedder, normalised as ``loss`` has it, for inputs of ``shape`` (channels, height, width) or (n_features,)."""
    normalize = embedder.normalized(loss)
    if embedder.architecture == "mlp":
        return build_embedder("mlp", in_features=int(np.prod(shape)), hidden=list(embedder.hidden), embedding_dim=embedder.embedding_dim,
                              normalize=normalize)
    if len(shape) != 3:
        raise ValueError(f"architecture {embedder.architecture!r} needs images; the inputs have shape {shape}: use architecture 'mlp'.")
    if embedder.architecture == "conv4":
        return build_embedder("conv4", in_channels=shape[0], width=embedder.width, image_size=shape[1:], embedding_dim=embedder.embedding_dim,
                              normalize=normalize)
    return build_embedder("resnet", in_channels=shape[0], embedding_dim=embedder.embedding_dim, normalize=normalize)


def _evaluate(model: EmbeddingNet, data: LabeledSet) -> RetrievalReport:
    return retrieval_metrics(model.embed(data.X), data.labels, backend="exact")


def _validate_retrieval(model: EmbeddingNet, val: LabeledSet) -> tuple[float, dict[str, float]]:
    report = _evaluate(model, val)
    return report.map_at_r, {"val_map_at_r": report.map_at_r, "val_precision_at_1": report.precision_at_1}


Validation = Callable[[EmbeddingNet, LabeledSet], tuple[float, dict[str, float]]]


def train(
    config: TrainConfig,
    *,
    checkpoint: str | Path | None = None,
    resume: bool = False,
    quiet: bool = False,
    split: ClassSplit | None = None,
    validate: Validation = _validate_retrieval,
) -> TrainResult:
    """Run the configured training; with ``checkpoint`` save state there after every epoch (and resume from it if ``resume``).

    ``validate(model, split.val)`` scores each epoch: ``(score, metrics for the history)``; the epoch with the
    highest score is kept (default: MAP@R of the validation classes).
    """
    split = split or prepare_classes(config)
    codes_of = {c: i for i, c in enumerate(split.fit_classes)}
    codes = torch.tensor([codes_of[c] for c in split.fit.labels.tolist()], dtype=torch.int64)
    batches = config.batches
    sampler = ClassBalancedBatchSampler(
        split.fit.labels, min(batches.n_classes_per_batch, len(split.fit_classes)), batches.n_per_class,
        n_batches=config.loop.batches_per_epoch, seed=config.loop.seed, replace=batches.sample_with_replacement,
    )
    fitted = fit(config.loop, lambda: build_model(config.embedder, config.objective.loss, split.fit.preprocessing.shape),
                 lambda model: Objective(config.objective, model.embedding_dim, len(split.fit_classes), config.loop.seed,
                                         input_shape=split.fit.preprocessing.shape), sampler,
                 torch.from_numpy(split.fit.X), codes, validate=(lambda model: validate(model, split.val)) if split.val is not None else None,
                 checkpoint=checkpoint, resume=resume, quiet=quiet)
    model = fitted.model
    with distributed.sharded_evaluation():
        test = _evaluate(model, split.test) if split.test is not None else None
    artifact = DeepMetricModel(
        model, split.fit.preprocessing, "euclidean", None, split.fit_classes,
        {"config": config.as_dict(), "best_epoch": fitted.best_epoch, "val_classes": split.val_classes, "test_classes": split.test_classes,
         "test": test.as_dict() if test is not None else None},
    )
    return TrainResult(artifact, fitted.history, fitted.best_epoch, test, split, fitted.processes)


def train_with_validation(
    config: TrainConfig,
    fit: LabeledSet,
    val: LabeledSet,
    score: Callable[[np.ndarray], float],
    metric: str,
    *,
    quiet: bool = False,
) -> TrainResult:
    """Train on ``fit`` and keep the epoch whose embeddings of ``val`` rate highest by ``score`` (an application's own
    validation protocol, recorded in the history as ``val_<metric>``); no test set is touched."""
    split = ClassSplit(fit, val, None, sorted(set(fit.labels.tolist()), key=str), sorted(set(val.labels.tolist()), key=str), [])

    def validate(model: EmbeddingNet, val_data: LabeledSet) -> tuple[float, dict[str, float]]:
        value = float(score(model.embed(val_data.X)))
        return value, {f"val_{metric}": value}

    return train(config, quiet=quiet, split=split, validate=validate)
