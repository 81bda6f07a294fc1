"""One self-describing file per deep model: safetensors weights with the description in the header.

The header's metadata holds JSON: format version, architecture and its config, preprocessing,
distance, calibrated threshold (if any), training classes, metrics and package versions. Loading
never unpickles anything, and a corrupt or foreign file gives a clear error naming it.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from metrickit._safetensors import read_safetensors, write_safetensors
from metrickit.datasets.labeled import Preprocessing
from metrickit.models.embedding import EmbeddingNet, build_embedder

__all__ = ["FORMAT", "DeepMetricModel", "load_deep_model", "save_deep_model"]

FORMAT = "metrickit.deep/1"
_KEY = "metrickit"


@dataclass
class DeepMetricModel:
    """A trained embedder and everything needed to use it on new inputs (a :class:`~metrickit.models.base.MetricModel`)."""

    embedder: EmbeddingNet
    preprocessing: Preprocessing
    distance: str = "euclidean"
    threshold: float | None = None
    training_classes: list = field(default_factory=list)
    info: dict[str, Any] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return self.embedder.name

    def embed(self, raw: np.ndarray, batch_size: int = 256) -> np.ndarray:
        """Embeddings (n, embedding_dim) of raw inputs, prepared with the stored preprocessing."""
        return self.embed_prepared(self.preprocessing.apply(raw), batch_size)

    def embed_prepared(self, inputs: np.ndarray, batch_size: int = 256) -> np.ndarray:
        """Embeddings of network inputs already prepared with the stored preprocessing (eval mode, in batches)."""
        return self.embedder.embed(inputs, batch_size)


def save_deep_model(model: DeepMetricModel, path: str | os.PathLike, *, overwrite: bool = False) -> Path:
    """Write ``model`` to ``path`` (a ``.safetensors`` file) atomically; refuses to overwrite unless asked."""
    from metrickit._provenance import package_versions

    header = {
        "format": FORMAT,
        "architecture": model.embedder.name,
        "config": model.embedder.config,
        "preprocessing": model.preprocessing.as_dict(),
        "distance": model.distance,
        "threshold": model.threshold,
        "training_classes": [c.item() if isinstance(c, np.generic) else c for c in model.training_classes],
        "info": model.info,
        "versions": package_versions(),
    }
    tensors = {name: t.detach().cpu().contiguous() for name, t in model.embedder.state_dict().items()}
    return write_safetensors(path, tensors, {_KEY: json.dumps(header, default=str)}, overwrite=overwrite)


def load_deep_model(path: str | os.PathLike) -> DeepMetricModel:
    """The model stored at ``path`` by :func:`save_deep_model`, in eval mode on the CPU."""
    metadata, tensors = read_safetensors(path, "model file")
    try:
        header = json.loads(metadata[_KEY])
        if header.get("format") != FORMAT:
            raise KeyError("format")
        embedder = build_embedder(header["architecture"], **header["config"])
    except (KeyError, json.JSONDecodeError, TypeError) as error:
        raise ValueError(f"{path} is not a metrickit deep model ({FORMAT}): missing or bad header entry {error}.") from None
    try:
        embedder.load_state_dict(tensors, strict=True)
    except RuntimeError as error:
        raise ValueError(f"{path}: the weights do not match the stored architecture: {str(error).splitlines()[0]}") from None
    embedder.eval()
    return DeepMetricModel(
        embedder,
        Preprocessing.from_dict(header["preprocessing"]),
        header.get("distance", "euclidean"),
        header.get("threshold"),
        header.get("training_classes", []),
        header.get("info", {}),
    )
