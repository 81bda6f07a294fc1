"""Fitted linear metrics on disk: one ``.npz`` of plain arrays plus JSON metadata, never a pickle."""

from __future__ import annotations

import json
import os
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from metrickit._io import atomic_path
from metrickit.datasets.labeled import Preprocessing
from metrickit.distances.mahalanobis import Mahalanobis
from metrickit.linear.features import FeatureTransform
from metrickit.linear.lmnn import LMNN

__all__ = ["LinearMetricModel", "load_model", "save_model"]

FORMAT = "metrickit.linear-metric"
FORMAT_VERSION = 1


@dataclass
class LinearMetricModel:
    """A learned linear metric with the preprocessing it was fitted after.

    ``transform(X) = (((X - mean) / scale) @ projection.T) @ components.T``; each preprocessing
    step is optional (``None``). It is a :class:`~metrickit.models.base.MetricModel`: ``embed`` takes raw
    inputs (feature vectors, or images flattened to them, such as MNIST fitted by ``lmnn fit --data mnist``).
    """

    components: np.ndarray
    mean: np.ndarray | None = None
    scale: np.ndarray | None = None
    projection: np.ndarray | None = None
    metadata: dict[str, Any] = field(default_factory=dict)

    @property
    def n_features_in(self) -> int:
        if self.projection is not None:
            return self.projection.shape[1]
        return self.components.shape[1]

    @property
    def name(self) -> str:
        return str(self.metadata.get("estimator", "linear")).lower()

    @property
    def info(self) -> dict[str, Any]:
        return self.metadata

    @property
    def threshold(self) -> float | None:
        return self.metadata.get("threshold")

    @property
    def training_classes(self) -> list:
        return list(self.metadata.get("classes", []))

    @property
    def preprocessing(self) -> Preprocessing:
        """Raw inputs as the fit saw them: flattened to ``n_features_in`` values, pixels scaled as its data record says."""
        scale = 1 / 255 if self.metadata.get("data", {}).get("pixel_scale") == "1/255" else 1.0
        return Preprocessing("features", (self.n_features_in,), scale=scale)

    def preprocess(self, X: np.ndarray) -> np.ndarray:
        """Apply the stored preprocessing to raw features (n_samples, n_features_in)."""
        from metrickit._validation import check_array_2d

        X = check_array_2d(X, "X", n_features=self.n_features_in)
        return FeatureTransform(self.mean, self.scale, self.projection)(X)

    def transform(self, X: np.ndarray) -> np.ndarray:
        """Raw features to the learned space, shape (n_samples, n_components)."""
        return self.preprocess(X) @ self.components.T

    def embed(self, raw: np.ndarray) -> np.ndarray:
        """Raw inputs (n, ...) to the learned space, in float64: flattened, scaled as :attr:`preprocessing` says, mapped."""
        raw = np.asarray(raw)
        self.preprocessing.apply(raw[:0])  # refuses inputs of the wrong size, naming the shape expected
        raw = raw.astype(np.float64).reshape(len(raw), -1)
        return self.transform(raw * self.preprocessing.scale)

    def embed_prepared(self, inputs: np.ndarray) -> np.ndarray:
        return self.transform(np.asarray(inputs, dtype=np.float64).reshape(len(inputs), -1))

    @property
    def metric(self) -> Mahalanobis:
        """The learned distance on preprocessed features."""
        return Mahalanobis(L=self.components)


def save_model(model: LinearMetricModel, path: str | os.PathLike, *, overwrite: bool = False) -> Path:
    """Write ``model`` to ``path`` (``.npz``) atomically; refuses to replace a file unless ``overwrite``."""
    path = Path(path)
    if path.suffix != ".npz":
        raise ValueError(f"Model files end in .npz; got {path}.")
    arrays = {"components": model.components}
    for name in ("mean", "scale", "projection"):
        value = getattr(model, name)
        if value is not None:
            arrays[name] = np.asarray(value, dtype=np.float64)
    meta = {"format": FORMAT, "format_version": FORMAT_VERSION, **model.metadata}
    arrays["metadata_json"] = np.array(json.dumps(meta, default=_jsonable))
    with atomic_path(path, overwrite=overwrite) as tmp:
        with open(tmp, "wb") as fh:
            np.savez(fh, **arrays)
    return path


def load_model(path: str | os.PathLike) -> LinearMetricModel:
    """Read a model written by :func:`save_model`; a clear error for a missing, corrupt or foreign file."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"Model file {path} does not exist.")
    try:
        with np.load(path, allow_pickle=False) as data:
            arrays = {key: data[key] for key in data.files}
    except (OSError, ValueError, zipfile.BadZipFile, EOFError) as exc:
        raise ValueError(f"Model file {path} is corrupt or not a metrickit model ({type(exc).__name__}: {exc}).") from None
    if "metadata_json" not in arrays or "components" not in arrays:
        raise ValueError(f"Model file {path} is not a metrickit linear model (no metadata or components).")
    meta = json.loads(str(arrays.pop("metadata_json")))
    if meta.get("format") != FORMAT:
        raise ValueError(f"Model file {path} has format {meta.get('format')!r}; expected {FORMAT!r}.")
    if meta.get("format_version", 0) > FORMAT_VERSION:
        raise ValueError(
            f"Model file {path} has format version {meta['format_version']}; this metrickit reads up to {FORMAT_VERSION}."
        )
    components = arrays["components"]
    if components.ndim != 2 or not np.all(np.isfinite(components)):
        raise ValueError(f"Model file {path} holds an invalid components array of shape {components.shape}.")
    return LinearMetricModel(
        components=components,
        mean=arrays.get("mean"),
        scale=arrays.get("scale"),
        projection=arrays.get("projection"),
        metadata={k: v for k, v in meta.items() if k not in ("format", "format_version")},
    )


def model_from_lmnn(estimator: LMNN, **preprocessing: np.ndarray | None) -> LinearMetricModel:
    """Wrap a fitted :class:`LMNN` with its preprocessing and a metadata record of the fit."""
    from metrickit._provenance import package_versions

    params = {k: ("<array>" if isinstance(v, np.ndarray) else v) for k, v in estimator.get_params().items()}
    classes = estimator.classes_.tolist()
    metadata = {
        "estimator": "LMNN",
        "params": params,
        "classes": [c if isinstance(c, (int, float, str, bool)) else str(c) for c in classes],
        "objective": estimator.objective_,
        "objective_history": list(estimator.objective_history_),
        "n_iter": estimator.n_iter_,
        "converged": estimator.converged_,
        "versions": package_versions(),
    }
    return LinearMetricModel(components=estimator.components_, metadata=metadata, **preprocessing)


def _jsonable(obj: Any) -> Any:
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    return str(obj)
