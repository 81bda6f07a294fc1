"""The sections every deep method's config is made of, and the config of ``metrickit train``.

Sections (each a :class:`~metrickit._config.Config`): :class:`LoopConfig` (what the training loop reads),
:class:`EmbedderConfig` (the network), :class:`ObjectiveConfig` (loss, miner, margin), :class:`BatchConfig`
(P x K batches) and :class:`DataConfig` (dataset and class split). :class:`TrainConfig` is all five; the few-shot,
verification and re-identification configs contain the ones they use, with their own defaults. Nothing here imports
torch, so ``--help`` can show the defaults.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, ClassVar

from metrickit._config import Config, flatten
from metrickit._loss_settings import LOSS_SETTINGS, PAIR_MINERS, TRIPLET_MINERS, check_loss_margin, check_positive_finite
from metrickit._validation import check_count_fields, validate_choice

__all__ = ["DEEP_LOSSES", "LOSSES", "MARGINS", "MINERS", "PROTOCOL_METHODS", "MethodConfig", "BatchConfig", "DataConfig", "EmbedderConfig", "LoopConfig", "ObjectiveConfig",
           "TrainConfig", "load_config"]

LOSSES = tuple(LOSS_SETTINGS)
MINERS = (*TRIPLET_MINERS, *PAIR_MINERS[1:])
DEEP_LOSSES = tuple(name for name in LOSS_SETTINGS if name != "protonet")  # what trains on P x K batches
PROTOCOL_METHODS = ("euclidean", "lmnn", *DEEP_LOSSES)  # a verification or re-identification method
MARGINS = {name: s.margin for name, s in LOSS_SETTINGS.items() if s.margin is not None}  # a loss's margin when none is given
ARCHITECTURES = ("mlp", "conv4", "resnet")
AUGMENTATIONS = ("none", "flip")
SCHEDULERS = ("cosine", "step", "none")
DEFAULT_SPLITS = {"mnist": ([0, 1, 2, 3, 4], [5, 6, 7, 8, 9]), "digits": ([0, 1, 2, 3, 4, 5], [6, 7, 8, 9])}


@dataclass(frozen=True)
class LoopConfig(Config):
    """What the training loop (:func:`metrickit.training.engine.fit`) reads: budget, optimiser, schedule, seed, device.

    ``batches_per_epoch`` counts batches, or episodes for episodic methods. ``scheduler``: 'cosine' anneals over every
    step, 'step' halves the learning rate every ``lr_halve_every`` steps (Prototypical Networks' schedule), 'none'
    keeps it. ``augment='flip'`` flips each input horizontally with probability 1/2.
    """

    epochs: int = 10
    batches_per_epoch: int = 100
    optimizer: str = "adam"
    learning_rate: float = 1e-3
    weight_decay: float = 0.0
    scheduler: str = "cosine"
    lr_halve_every: int = 2000
    seed: int = 0
    device: str = "cpu"
    augment: str = "none"

    def __post_init__(self) -> None:
        validate_choice(self.optimizer, "optimizer", ("adam", "sgd"))
        validate_choice(self.scheduler, "scheduler", SCHEDULERS)
        validate_choice(self.device, "device", ("cpu", "cuda", "auto"))
        validate_choice(self.augment, "augment", AUGMENTATIONS)
        check_count_fields(self, ("epochs", "batches_per_epoch", "lr_halve_every"))
        if not (self.learning_rate > 0):
            raise ValueError(f"`learning_rate` must be > 0; got {self.learning_rate!r}.")
        if not (self.weight_decay >= 0):
            raise ValueError(f"`weight_decay` must be >= 0; got {self.weight_decay!r}.")


@dataclass(frozen=True)
class EmbedderConfig(Config):
    """The embedding network: ``architecture`` 'mlp' (layers ``hidden``), 'conv4' (``width`` filters per block) or
    'resnet'; a linear projection to ``embedding_dim`` (None: conv-4's own features, no projection); ``normalize``
    L2-normalises the embeddings (None: the loss's convention, off for softmax and Prototypical Networks, on for the
    rest)."""

    architecture: str = "conv4"
    embedding_dim: int | None = 64
    hidden: tuple[int, ...] = (256,)
    width: int = 64
    normalize: bool | None = None

    def __post_init__(self) -> None:
        validate_choice(self.architecture, "architecture", ARCHITECTURES)
        object.__setattr__(self, "hidden", tuple(int(h) for h in self.hidden))
        check_count_fields(self, ("width", *(("embedding_dim",) if self.embedding_dim is not None or self.architecture != "conv4" else ())))

    def normalized(self, loss: str) -> bool:
        """Whether the embeddings are L2-normalised under ``loss``: by default for every loss but softmax and
        Prototypical Networks (the cosine-based ones compare directions, so Euclidean retrieval agrees with them)."""
        return bool(self.normalize) if self.normalize is not None else loss not in ("softmax", "protonet")


_PER_LOSS = ("miner", "margin", "scale", "temperature")  # settings whose meaning depends on the loss


@dataclass(frozen=True)
class ObjectiveConfig(Config):
    """The loss, its miner and settings, and an optional cross-batch memory.

    ``miner`` None takes the loss's own (semi-hard band triplets for 'triplet', the Multi-Similarity miner for
    'multi-similarity', none otherwise); 'all' (every tuple) and 'semihard' run fused, 'hard' is batch-hard,
    'semihard-facenet' FaceNet's rule, 'random' one random triplet per anchor. ``margin``, ``scale`` and ``temperature``
    None take the loss's defaults; their units differ by loss (:data:`metrickit._loss_settings.LOSS_SETTINGS`), and a
    loss without such a setting refuses it. ``squared`` measures triplets in squared distances (FaceNet).
    ``head_lr_scale`` multiplies the learning rate of a loss's own parameters (class vectors, proxies; None: the
    loss's own, 100 for Proxy-Anchor, else 1). ``xbm`` > 0 keeps a cross-batch memory of that many recent embeddings
    as extra references for pair and triplet losses, used once ``xbm_warmup`` batches have passed.
    """

    loss: str = "triplet"
    miner: str | None = None
    margin: float | None = None
    scale: float | None = None
    temperature: float | None = None
    squared: bool = True
    head_lr_scale: float | None = None
    xbm: int = 0
    xbm_warmup: int = 0

    def __post_init__(self) -> None:
        validate_choice(self.loss, "loss", LOSSES)
        settings = LOSS_SETTINGS[self.loss]
        if self.miner is not None:
            validate_choice(self.miner, "miner", MINERS)
            if self.miner not in settings.miners:
                raise ValueError(f"`miner` {self.miner!r} does not apply to loss {self.loss!r}; it takes "
                                 f"{', '.join(map(repr, settings.miners))}.")
        for name in ("margin", "scale", "temperature"):
            if getattr(self, name) is not None and getattr(settings, name) is None:
                raise ValueError(f"loss {self.loss!r} has no `{name}`; leave it unset.")
        if self.margin is not None:
            check_loss_margin(self.loss, self.margin)
        for name in ("scale", "temperature", "head_lr_scale"):
            if getattr(self, name) is not None:
                check_positive_finite(getattr(self, name), name)
        check_count_fields(self, ("xbm", "xbm_warmup"), minimum=0)
        if self.xbm and not settings.memory:
            raise ValueError(f"`xbm` (a cross-batch memory) serves pair and triplet losses "
                             f"({', '.join(n for n, s in LOSS_SETTINGS.items() if s.memory)}); loss {self.loss!r} cannot use it.")

    def with_flat(self, **values: Any) -> "ObjectiveConfig":
        """As :meth:`Config.with_flat`; a new ``loss`` drops the old one's miner, margin, scale and temperature unless
        they are given too (they are in that loss's units)."""
        if "loss" in values and values["loss"] != self.loss:
            values = {**dict.fromkeys(_PER_LOSS), **values}
        return super().with_flat(**values)

    @property
    def settings(self):
        """The loss's :class:`~metrickit._loss_settings.LossSettings`."""
        return LOSS_SETTINGS[self.loss]

    @property
    def miner_value(self) -> str:
        """The miner in use: the configured one, else the loss's own."""
        return self.miner if self.miner is not None else self.settings.default_miner

    @property
    def margin_value(self) -> float:
        """The margin in use: the configured one, else the loss's default (0 where the loss has none)."""
        return float(self.margin) if self.margin is not None else (self.settings.margin or 0.0)

    @property
    def scale_value(self) -> float | None:
        return float(self.scale) if self.scale is not None else self.settings.scale

    @property
    def temperature_value(self) -> float | None:
        return float(self.temperature) if self.temperature is not None else self.settings.temperature


class MethodConfig(Config):
    """Mixin of protocol configs whose ``method`` is a method without training ('euclidean', 'lmnn') or a deep loss,
    which is then the objective's ``loss``. ``LOSS_DEFAULTS`` (loss -> settings) are the protocol's own defaults for a
    loss, used where the objective leaves them unset (e.g. re-id's batch-hard triplets, margin 0.3)."""

    LOSS_DEFAULTS: ClassVar[dict[str, dict[str, Any]]] = {}

    def with_flat(self, **values: Any):
        if values.get("method") in DEEP_LOSSES and "loss" not in values:
            values = {**values, "loss": values["method"]}
        return super().with_flat(**values)

    def _resolve_objective(self) -> None:
        """Check ``method`` (one of :data:`PROTOCOL_METHODS`) and make a deep one the objective's loss, with the protocol's
        own defaults for the settings the objective leaves unset."""
        validate_choice(self.method, "method", PROTOCOL_METHODS)
        objective = self.objective
        if self.method in DEEP_LOSSES and objective.loss != self.method:
            objective = objective.with_flat(loss=self.method)
        defaults = {k: v for k, v in self.LOSS_DEFAULTS.get(objective.loss, {}).items() if getattr(objective, k) is None}
        object.__setattr__(self, "objective", replace(objective, **defaults) if defaults else objective)


@dataclass(frozen=True)
class BatchConfig(Config):
    """Class-balanced P x K batches: ``n_classes_per_batch`` classes, ``n_per_class`` samples each; with
    ``sample_with_replacement`` a class with fewer than K samples fills its places by drawing again."""

    n_classes_per_batch: int = 4
    n_per_class: int = 16
    sample_with_replacement: bool = False

    def __post_init__(self) -> None:
        check_count_fields(self, ("n_classes_per_batch", "n_per_class"))


@dataclass(frozen=True)
class DataConfig(Config):
    """The dataset ('mnist', 'digits', a folder of class sub-folders, or a features file: .npz with X and y; .npy or
    .csv with ``labels``, a labels file, or CSV ``label_column``) and its classes: the model trains on
    ``train_classes`` minus ``n_val_classes`` of them (chosen by the seed), which validate each epoch;
    ``test_classes`` are evaluated once, at the end, on the test split."""

    dataset: str = "mnist"
    data_dir: str | None = None
    labels: str | None = None
    label_column: int | None = None
    image_size: int | None = None
    train_classes: tuple | None = None
    test_classes: tuple | None = None
    n_val_classes: int = 2

    def __post_init__(self) -> None:
        for name in ("train_classes", "test_classes"):
            if getattr(self, name) is not None:
                object.__setattr__(self, name, tuple(getattr(self, name)))
        if isinstance(self.n_val_classes, bool) or not isinstance(self.n_val_classes, int) or self.n_val_classes < 0:
            raise ValueError(f"`n_val_classes` must be an integer >= 0; got {self.n_val_classes!r}.")

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


@dataclass(frozen=True)
class TrainConfig(Config):
    """Everything a ``metrickit train`` run depends on (recorded in the model file and the run's JSON)."""

    data: DataConfig = field(default_factory=DataConfig)
    embedder: EmbedderConfig = field(default_factory=EmbedderConfig)
    objective: ObjectiveConfig = field(default_factory=ObjectiveConfig)
    batches: BatchConfig = field(default_factory=BatchConfig)
    loop: LoopConfig = field(default_factory=LoopConfig)

    def __post_init__(self) -> None:
        if self.objective.loss == "protonet":
            raise ValueError("`loss` 'protonet' trains on episodes: use `metrickit fewshot train`.")


def load_config(path: str | os.PathLike | None = None, **overrides: Any) -> TrainConfig:
    """A config from a YAML file (optional; flat or in sections) with ``overrides`` (non-None values) on top;
    unknown keys are errors."""
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
    data = flatten(data)
    data.update({k: v for k, v in overrides.items() if v is not None})
    return TrainConfig.from_flat(data)
