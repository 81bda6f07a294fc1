"""What every saved metric is to its users, whatever learned it, and one loader for every model file (torch-free).

A model maps raw inputs to points whose Euclidean distance is the learned distance. Three kinds exist:
deep embedders (``.safetensors``, :class:`~metrickit.models.artifact.DeepMetricModel`), linear metrics from
``lmnn fit`` (``.npz``, :class:`~metrickit.linear.io.LinearMetricModel`) and plain Euclidean distance on the
prepared inputs (:class:`EuclideanModel`, the baseline). ``embed``, ``evaluate``, ``verify predict``, ``reid eval``
and ``fewshot eval`` take any of them through :func:`load_model`.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

import numpy as np

from metrickit.datasets.labeled import Preprocessing

__all__ = ["MODEL_SUFFIXES", "EuclideanModel", "MetricModel", "load_model"]

MODEL_SUFFIXES = (".safetensors", ".npz", ".onnx")


@runtime_checkable
class MetricModel(Protocol):
    """A saved metric: how inputs are prepared, how they are embedded, and what it was trained on."""

    preprocessing: Preprocessing  # how raw inputs become the inputs of ``embed_prepared``
    threshold: float | None  # the calibrated same/different distance, if any
    training_classes: list  # the classes (identities, characters) it trained on
    info: dict[str, Any]  # how it was trained: method, split, fold, ...

    @property
    def name(self) -> str:
        """What kind of model it is ('conv4', 'lmnn', 'euclidean', ...)."""

    def embed(self, raw: np.ndarray) -> np.ndarray:
        """Embeddings (n, embedding_dim) of raw inputs, prepared with :attr:`preprocessing`."""

    def embed_prepared(self, inputs: np.ndarray) -> np.ndarray:
        """Embeddings of inputs already passed through ``preprocessing.apply``."""


@dataclass
class EuclideanModel:
    """Euclidean distance on the prepared inputs themselves (pixels or features): the baseline every method is compared with."""

    preprocessing: Preprocessing
    threshold: float | None = None
    training_classes: list = field(default_factory=list)
    info: dict[str, Any] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return "euclidean"

    def embed(self, raw: np.ndarray) -> np.ndarray:
        return self.embed_prepared(self.preprocessing.apply(raw))

    def embed_prepared(self, inputs: np.ndarray) -> np.ndarray:
        return np.asarray(inputs).reshape(len(inputs), -1)


def load_model(path: str | os.PathLike) -> MetricModel:
    """The model in a file (``.safetensors``: deep; ``.npz``: linear, from ``lmnn fit``; ``.onnx``: from ``metrickit
    export``, run by onnxruntime) or a run folder's final model.

    Neither format unpickles anything; a missing, corrupt or foreign file raises naming it.
    """
    from metrickit.runs import final_model

    path = final_model(path)
    if not path.is_file():
        raise FileNotFoundError(f"model file {path} does not exist.")
    suffix = path.suffix.lower()
    if suffix == ".safetensors":
        from metrickit.models.artifact import load_deep_model

        return load_deep_model(path)
    if suffix == ".onnx":
        from metrickit.models.onnx_model import load_onnx_model

        return load_onnx_model(path)
    if suffix == ".npz":
        from metrickit.linear.io import load_model as load_linear

        return load_linear(path)
    raise ValueError(f"model file {path} must end in {' or '.join(MODEL_SUFFIXES)} (a metrickit model); got {suffix or 'no suffix'!r}.")
