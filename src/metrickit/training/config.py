"""The training configuration: one dataclass, from YAML and/or flags, validated in one place."""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from metrickit._validation import check_count_fields

__all__ = ["LOSSES", "MINERS", "LoopConfig", "TrainConfig", "load_config"]

LOSSES = ("triplet", "contrastive", "softmax")
MINERS = ("all", "hard", "semihard", "semihard-facenet", "random")
ARCHITECTURES = ("mlp", "conv4", "resnet")
AUGMENTATIONS = ("none", "flip")
DEFAULT_SPLITS = {"mnist": ([0, 1, 2, 3, 4], [5, 6, 7, 8, 9]), "digits": ([0, 1, 2, 3, 4, 5], [6, 7, 8, 9])}


SCHEDULERS = ("cosine", "step", "none")


@dataclass(frozen=True)
class LoopConfig:
    """What the training loop (:func:`metrickit.training.engine.fit`) reads: budget, optimiser, schedule, seed, device.

    ``scheduler``: 'cosine' anneals over every step, 'step' halves the learning rate every ``lr_halve_every`` steps
    (Prototypical Networks' schedule), 'none' keeps it. ``augment='flip'`` flips each input horizontally with p = 1/2.
    """

    epochs: int = 10
    optimizer: str = "adam"
    learning_rate: float = 1e-3
    weight_decay: float = 0.0
    scheduler: str = "cosine"
    lr_halve_every: int = 2000
    seed: int = 0
    device: str = "cpu"
    augment: str = "none"

    def __post_init__(self) -> None:
        _choice(self.optimizer, "optimizer", ("adam", "sgd"))
        _choice(self.scheduler, "scheduler", SCHEDULERS)
        _choice(self.device, "device", ("cpu", "cuda", "auto"))
        _choice(self.augment, "augment", AUGMENTATIONS)
        check_count_fields(self, ("epochs", "lr_halve_every"))
        if not (self.learning_rate > 0):
            raise ValueError(f"`learning_rate` must be > 0; got {self.learning_rate!r}.")


@dataclass
class TrainConfig:
    """Everything a training run depends on (recorded in the model file and the run's JSON).

    Data: ``dataset`` is 'mnist', 'digits', a folder of class sub-folders, or a features file
    (.npz with X and y; .npy or .csv with ``labels``, a labels file, or CSV ``label_column``).
    Classes: the model trains on ``train_classes`` minus ``n_val_classes`` of them (chosen by
    ``seed``), which validate each epoch; ``test_classes`` are evaluated once, at the end, on the
    test split. ``miner`` applies to the triplet loss: 'all' and 'semihard' (band rule) run fused.
    """

    dataset: str = "mnist"
    data_dir: str | None = None
    labels: str | None = None
    label_column: int | None = None
    image_size: int | None = None
    train_classes: list | None = None
    test_classes: list | None = None
    n_val_classes: int = 2
    architecture: str = "conv4"
    embedding_dim: int = 64
    hidden: list[int] = field(default_factory=lambda: [256])
    normalize: bool = False
    loss: str = "triplet"
    miner: str = "semihard"
    margin: float = 0.2
    squared: bool = True
    n_classes_per_batch: int = 4
    n_per_class: int = 16
    sample_with_replacement: bool = False
    augment: str = "none"
    batches_per_epoch: int = 100
    epochs: int = 10
    optimizer: str = "adam"
    learning_rate: float = 1e-3
    weight_decay: float = 0.0
    scheduler: str = "cosine"
    seed: int = 0
    threads: int | None = None
    device: str = "cpu"

    def __post_init__(self) -> None:
        _choice(self.loss, "loss", LOSSES)
        _choice(self.miner, "miner", MINERS)
        _choice(self.architecture, "architecture", ARCHITECTURES)
        _choice(self.scheduler, "scheduler", ("cosine", "none"))
        _choice(self.optimizer, "optimizer", ("adam", "sgd"))
        _choice(self.device, "device", ("cpu", "cuda", "auto"))
        _choice(self.augment, "augment", AUGMENTATIONS)
        check_count_fields(self, ("embedding_dim", "n_classes_per_batch", "n_per_class", "batches_per_epoch", "epochs"))
        if not isinstance(self.n_val_classes, int) or self.n_val_classes < 0:
            raise ValueError(f"`n_val_classes` must be an integer >= 0; got {self.n_val_classes!r}.")
        if not (self.learning_rate > 0):
            raise ValueError(f"`learning_rate` must be > 0; got {self.learning_rate!r}.")
        if not (self.margin >= 0):
            raise ValueError(f"`margin` must be >= 0; got {self.margin!r}.")

    def loop(self) -> LoopConfig:
        """The loop's part of this config."""
        return LoopConfig(self.epochs, self.optimizer, self.learning_rate, self.weight_decay, self.scheduler, seed=self.seed,
                          device=self.device, augment=self.augment)

    def class_split(self, available: list) -> tuple[list, list]:
        """``(train_classes, test_classes)``: as configured, else the dataset's default, else a 60/40 cut of ``available``."""
        train, test = self.train_classes, self.test_classes
        default = DEFAULT_SPLITS.get(self.dataset)
        if train is None:
            train = default[0] if default else available[: max(2, int(round(0.6 * len(available))))]
        if test is None:
            test = default[1] if default else [c for c in available if c not in set(train)]
        overlap = set(train) & set(test)
        if overlap:
            raise ValueError(f"`train_classes` and `test_classes` overlap: {sorted(overlap, key=str)[:10]}; test classes must be unseen.")
        return list(train), list(test)

    def as_dict(self) -> dict:
        return asdict(self)


def _choice(value: Any, name: str, options: tuple) -> None:
    if value not in options:
        raise ValueError(f"`{name}` must be one of {', '.join(map(repr, options))}; got {value!r}.")


def load_config(path: str | os.PathLike | None = None, **overrides: Any) -> TrainConfig:
    """A config from a YAML file (optional) with ``overrides`` (non-None values) on top; unknown keys are errors."""
    import yaml

    data: dict[str, Any] = {}
    if path is not None:
        path = Path(path)
        if not path.is_file():
            raise FileNotFoundError(f"config file {path} does not exist.")
        try:
            data = yaml.safe_load(path.read_text()) or {}
        except yaml.YAMLError as error:
            raise ValueError(f"config file {path} is not valid YAML: {error}") from None
        if not isinstance(data, dict):
            raise ValueError(f"config file {path} must hold a mapping of settings; got {type(data).__name__}.")
    data.update({k: v for k, v in overrides.items() if v is not None})
    known = {f.name for f in fields(TrainConfig)}
    unknown = sorted(set(data) - known)
    if unknown:
        raise ValueError(f"unknown config setting(s) {unknown}; known settings: {', '.join(sorted(known))}.")
    return TrainConfig(**data)
