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
from torch import nn

from metrickit.datasets.labeled import LabeledSet, load_labeled, split_by_classes
from metrickit.evaluation.retrieval import RetrievalReport, retrieval_metrics
from metrickit.losses import ContrastiveLoss, TripletMarginLoss
from metrickit.miners import BatchHardMiner, RandomTripletMiner, SemiHardMiner
from metrickit.models.artifact import DeepMetricModel
from metrickit.models.embedding import EmbeddingNet, build_embedder
from metrickit.samplers import ClassBalancedBatchSampler
from metrickit.training.config import TrainConfig
from metrickit.training.engine import fit

__all__ = ["ClassSplit", "Objective", "TrainResult", "build_model", "prepare_classes", "train", "train_with_validation"]


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


def prepare_classes(config: TrainConfig) -> ClassSplit:
    """Load the dataset and cut it by classes as the config says."""
    source = dict(data_dir=config.data_dir, image_size=config.image_size, labels=config.labels, label_column=config.label_column)
    data = load_labeled(config.dataset, "train", **source)
    test_data = load_labeled(config.dataset, "test", **source) if config.dataset == "mnist" else data
    available = sorted(np.unique(data.y).tolist(), key=str)
    train_classes, test_classes = config.class_split(available)
    if config.n_val_classes == 1 or config.n_val_classes > len(train_classes) - 2:
        raise ValueError(
            f"`n_val_classes` ({config.n_val_classes}) must be 0, or at least 2 (ranking needs two classes) while leaving "
            f"at least 2 of the {len(train_classes)} training classes to train on."
        )
    rng = np.random.default_rng(config.seed)
    val_classes = sorted(rng.choice(np.array(train_classes, dtype=object), config.n_val_classes, replace=False).tolist(), key=str) if config.n_val_classes else []
    fit_classes = [c for c in train_classes if c not in set(val_classes)]
    fit = data.subset(split_by_classes(data.y, fit_classes))
    val = data.subset(split_by_classes(data.y, val_classes)) if val_classes else None
    test = test_data.subset(split_by_classes(test_data.y, test_classes))
    return ClassSplit(fit, val, test, fit_classes, val_classes, test_classes)


def build_model(config: TrainConfig, shape: tuple[int, ...]) -> EmbeddingNet:
    """The configured embedder for inputs of ``shape`` (channels, height, width) or (n_features,)."""
    if config.architecture == "mlp":
        return build_embedder("mlp", in_features=int(np.prod(shape)), hidden=config.hidden, embedding_dim=config.embedding_dim, normalize=config.normalize)
    if len(shape) != 3:
        raise ValueError(f"architecture {config.architecture!r} needs images; the inputs have shape {shape}: use architecture 'mlp'.")
    if config.architecture == "conv4":
        return build_embedder("conv4", in_channels=shape[0], image_size=shape[1:], embedding_dim=config.embedding_dim, normalize=config.normalize)
    return build_embedder("resnet", in_channels=shape[0], embedding_dim=config.embedding_dim, normalize=config.normalize)


class Objective(nn.Module):
    """The configured loss on a batch of embeddings; 'softmax' adds a linear classifier over the fit classes."""

    progress_name = "active_fraction"

    def __init__(self, config: TrainConfig, embedding_dim: int, n_classes: int):
        super().__init__()
        self.kind = config.loss
        self.miner: nn.Module | None = None
        self.head: nn.Module | None = None
        if config.loss == "triplet":
            fused = {"all": "all", "semihard": "semihard"}.get(config.miner)
            self.loss = TripletMarginLoss(config.margin, squared=config.squared, triplets=fused or "all")
            self.miner = {
                "hard": BatchHardMiner(squared=config.squared),
                "semihard-facenet": SemiHardMiner(config.margin, variant="facenet", squared=config.squared),
                "random": RandomTripletMiner(seed=config.seed, squared=config.squared),
            }.get(config.miner)
        elif config.loss == "contrastive":
            self.loss = ContrastiveLoss(config.margin)
        else:
            self.head = nn.Linear(embedding_dim, n_classes)
            self.loss = nn.CrossEntropyLoss()

    def forward(self, embeddings: torch.Tensor, codes: torch.Tensor) -> tuple[torch.Tensor, float | None]:
        """Loss and the fraction of active tuples (None for softmax)."""
        if self.head is not None:
            return self.loss(self.head(embeddings), codes), None
        indices = self.miner(embeddings, codes) if self.miner is not None else None
        loss = self.loss(embeddings, codes, indices=indices) if indices is not None else self.loss(embeddings, codes)
        return loss, self.loss.active_fraction


def _evaluate(model: EmbeddingNet, data: LabeledSet) -> RetrievalReport:
    return retrieval_metrics(model.embed(data.X), data.y, backend="exact")


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
    if config.threads:
        torch.set_num_threads(int(config.threads))
    split = split or prepare_classes(config)
    codes_of = {c: i for i, c in enumerate(split.fit_classes)}
    codes = torch.tensor([codes_of[c] for c in split.fit.y.tolist()], dtype=torch.int64)
    sampler = ClassBalancedBatchSampler(
        split.fit.y, min(config.n_classes_per_batch, len(split.fit_classes)), config.n_per_class,
        n_batches=config.batches_per_epoch, seed=config.seed, replace=config.sample_with_replacement,
    )
    fitted = fit(config.loop(), lambda: build_model(config, split.fit.preprocessing.shape),
                 lambda model: Objective(config, model.embedding_dim, len(split.fit_classes)), sampler, torch.from_numpy(split.fit.X),
                 codes, validate=(lambda model: validate(model, split.val)) if split.val is not None else None,
                 checkpoint=checkpoint, resume=resume, quiet=quiet)
    model = fitted.model
    test = _evaluate(model, split.test) if split.test is not None else None
    artifact = DeepMetricModel(
        model, split.fit.preprocessing, "euclidean", None, split.fit_classes,
        {"config": config.as_dict(), "best_epoch": fitted.best_epoch, "val_classes": split.val_classes, "test_classes": split.test_classes,
         "test": test.as_dict() if test is not None else None},
    )
    return TrainResult(artifact, fitted.history, fitted.best_epoch, test, split)


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
    split = ClassSplit(fit, val, None, sorted(set(fit.y.tolist()), key=str), sorted(set(val.y.tolist()), key=str), [])

    def validate(model: EmbeddingNet, val_data: LabeledSet) -> tuple[float, dict[str, float]]:
        value = float(score(model.embed(val_data.X)))
        return value, {f"val_{metric}": value}

    return train(config, quiet=quiet, split=split, validate=validate)
