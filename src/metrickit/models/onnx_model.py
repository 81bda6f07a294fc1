"""A metric exported to ONNX, run by onnxruntime (no torch): the model file carries its preprocessing, threshold and
training classes in its metadata, so ``metrickit embed --model model.onnx`` prepares raw inputs as training did."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from metrickit.datasets.labeled import Preprocessing

__all__ = ["METADATA_KEY", "OnnxMetricModel", "load_onnx_model"]

METADATA_KEY = "metrickit"


@dataclass
class OnnxMetricModel:
    """An ONNX embedder (input: prepared inputs with a dynamic batch dimension) as a :class:`~metrickit.models.base.MetricModel`."""

    session: Any
    preprocessing: Preprocessing
    threshold: float | None = None
    training_classes: list = field(default_factory=list)
    info: dict[str, Any] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return f"onnx:{self.info.get('architecture', 'model')}"

    def embed(self, raw: np.ndarray, batch_size: int = 256) -> np.ndarray:
        return self.embed_prepared(self.preprocessing.apply(raw), batch_size)

    def embed_prepared(self, inputs: np.ndarray, batch_size: int = 256) -> np.ndarray:
        inputs = np.asarray(inputs, dtype=np.float32)
        feed = self.session.get_inputs()[0].name
        parts = [self.session.run(None, {feed: np.ascontiguousarray(inputs[start : start + batch_size])})[0]
                 for start in range(0, len(inputs), batch_size)]
        return np.concatenate(parts) if parts else np.zeros((0, int(self.info.get("embedding_dim", 0))), np.float32)


def load_onnx_model(path: str | os.PathLike) -> OnnxMetricModel:
    """The model in an ONNX file written by ``metrickit export``; a file without metrickit's metadata is refused."""
    try:
        import onnxruntime
    except ImportError as error:
        from metrickit.exceptions import MissingDependencyError

        raise MissingDependencyError('ONNX models need onnxruntime: pip install "metrickit[export]"') from error
    path = Path(path)
    try:
        session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    except Exception as error:  # onnxruntime raises its own exception types for unreadable files
        raise ValueError(f"{path} is not a readable ONNX model: {str(error).splitlines()[0][:200]}") from None
    metadata = session.get_modelmeta().custom_metadata_map
    if METADATA_KEY not in metadata:
        raise ValueError(f"{path} has no metrickit metadata (preprocessing, threshold): export it with `metrickit export`.")
    header = json.loads(metadata[METADATA_KEY])
    return OnnxMetricModel(session, Preprocessing.from_dict(header["preprocessing"]), header.get("threshold"),
                           header.get("training_classes", []), header.get("info", {}))
