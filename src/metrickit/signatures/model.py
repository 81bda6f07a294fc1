"""A trained on-line signature verifier in one file: how it compares trajectories, its threshold, whom it learned from.

``method`` 'dtw' (plain DTW on per-point features), 'dtw-lmnn' (DTW with a learned local Mahalanobis cost: the
``transform``) or 'embedder' (a :class:`~metrickit.signatures.embedder.SequenceEmbedder`, Euclidean distance between
embeddings). Saved as safetensors (the transform or the network's weights) with JSON metadata, no pickles. A probe is
scored against a writer's enrolment references as the protocol does (least distance over the references' mean
mutual distance) and accepted as genuine when the score is at most the calibrated ``threshold``.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from metrickit.datasets.labeled import LabeledSet
from metrickit.datasets.trajectories import Trajectory
from metrickit.signatures import SIGNATURE_METHODS

__all__ = ["FORMAT", "SIGNATURE_METHODS", "SignatureModel", "is_signature_model", "load_signature_model"]

FORMAT = "metrickit.signature/1"


@dataclass
class SignatureModel:
    """See the module docstring; callable on a set of trajectories as the protocol's distance method."""

    method: str
    window: int
    channels: tuple[str, ...]
    transform: np.ndarray | None = None
    embedder: Any = None
    threshold: float | None = None
    info: dict[str, Any] = field(default_factory=dict)

    def features(self, trajectories: Sequence[Trajectory]) -> list[np.ndarray]:
        """Per-point features; trajectories must have the channels the model learned from."""
        from metrickit.signatures.features import signature_features

        for trajectory in trajectories:
            self._check_channels(trajectory.channels, trajectory.name or "a trajectory")
        return [signature_features(t) for t in trajectories]

    def _check_channels(self, channels: Sequence[str], what: str) -> None:
        if tuple(channels) != tuple(self.channels):
            raise ValueError(f"{what} has channels {', '.join(channels)}; this model was trained on {', '.join(self.channels)} "
                             "(Task 1 files and Task 2 files need different models).")

    def cross_distances(self, queries: Sequence[np.ndarray], references: Sequence[np.ndarray]) -> np.ndarray:
        """(n_queries, n_references) distances between per-point feature sequences."""
        if self.method == "embedder":
            from metrickit.distances.functional import euclidean_distances
            from metrickit.signatures.embedder import embed_features

            return euclidean_distances(embed_features(self.embedder, queries), embed_features(self.embedder, references))
        from metrickit.signatures.dtw import dtw_cross_distances

        return dtw_cross_distances(queries, references, window=self.window, transform=self.transform)

    def __call__(self, data: LabeledSet) -> np.ndarray:
        """The protocol's distance matrix over ``data`` (rows of the enrolment pool filled; the embedder fills all)."""
        from metrickit.signatures.evaluate import enrolment_rows, features_of

        self._check_channels(data.channels, data.name or "the signatures")
        features = features_of(data)
        if self.method == "embedder":
            return self.cross_distances(features, features)
        rows = enrolment_rows(data)
        matrix = np.full((len(features), len(features)), np.nan)
        matrix[rows] = self.cross_distances([features[r] for r in rows], features)
        return matrix

    def score(self, probes: Sequence[Trajectory], references: Sequence[Trajectory]) -> np.ndarray:
        """Each probe's score against the references: least distance over the references' mean mutual distance."""
        if len(references) < 2:
            raise ValueError(f"a score needs at least 2 enrolment references (their mutual distance normalises it); got {len(references)}.")
        if not len(probes):
            raise ValueError("no probe signatures to score.")
        probe_features, reference_features = self.features(probes), self.features(references)
        from metrickit.signatures.protocol import reference_spread

        spread = reference_spread(self.cross_distances(reference_features, reference_features))
        if not spread > 0:
            raise ValueError("the enrolment references are identical to each other; enrol distinct signatures.")
        return self.cross_distances(probe_features, reference_features).min(1) / spread

    def save(self, path: str | os.PathLike, *, overwrite: bool = False) -> Path:
        """Write the model as safetensors with JSON metadata, atomically."""
        import torch

        from metrickit._provenance import package_versions
        from metrickit._safetensors import write_safetensors

        if self.method == "embedder":
            tensors = {f"embedder.{name}": t.detach().cpu().contiguous() for name, t in self.embedder.state_dict().items()}
            shape = {"n_features": self.embedder.n_features, "embedding_dim": self.embedder.embedding_dim, "width": self.embedder.width}
        else:
            transform = np.eye(len(_feature_names(self.channels))) if self.transform is None else self.transform
            tensors, shape = {"transform": torch.from_numpy(np.ascontiguousarray(transform, dtype=np.float64))}, {}
        header = {"format": FORMAT, "method": self.method, "window": self.window, "channels": list(self.channels),
                  "threshold": self.threshold, "embedder": shape, "info": self.info, "versions": package_versions()}
        return write_safetensors(path, tensors, {"metrickit": json.dumps(header, default=_plain)}, overwrite=overwrite)


def _plain(value: Any) -> Any:
    return value.item() if isinstance(value, np.generic) else value.tolist() if isinstance(value, np.ndarray) else str(value)


def _feature_names(channels: Sequence[str]) -> tuple[str, ...]:
    from metrickit.signatures.features import feature_names

    return feature_names(tuple(channels))


def is_signature_model(path: str | os.PathLike) -> bool:
    """Whether ``path`` is a signature model file (its metadata names this format)."""
    from metrickit._safetensors import read_safetensors

    path = Path(path)
    if path.suffix.lower() != ".safetensors" or not path.is_file():
        return False
    try:
        metadata, _ = read_safetensors(path, "model")
        return json.loads(metadata.get("metrickit", "{}")).get("format") == FORMAT
    except ValueError:
        return False


def load_signature_model(path: str | os.PathLike) -> SignatureModel:
    """The signature model in ``path`` (or a run folder's final model); a foreign or corrupt file raises naming it."""
    from metrickit._safetensors import read_safetensors
    from metrickit.runs import final_model

    path = final_model(path)
    metadata, tensors = read_safetensors(path, "signature model")
    try:
        header = json.loads(metadata["metrickit"])
    except (KeyError, json.JSONDecodeError):
        raise ValueError(f"{path} is not a metrickit signature model (no readable 'metrickit' metadata).") from None
    if header.get("format") != FORMAT:
        raise ValueError(f"{path} is a {header.get('format', 'different')!r} file, not a signature model ({FORMAT}).")
    embedder, transform = None, None
    if header["method"] == "embedder":
        from metrickit.signatures.embedder import SequenceEmbedder

        embedder = SequenceEmbedder(**header["embedder"])
        embedder.load_state_dict({name[len("embedder."):]: t for name, t in tensors.items() if name.startswith("embedder.")})
        embedder.eval()
    else:
        transform = tensors["transform"].numpy().astype(np.float64)
    return SignatureModel(header["method"], int(header["window"]), tuple(header["channels"]), transform, embedder, header.get("threshold"),
                          header.get("info", {}))
