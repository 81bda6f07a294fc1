"""Where datasets live: ``--data-dir``, else ``$METRICKIT_DATA``, else ``<repo root>/../shared/data``."""

from __future__ import annotations

import os
from pathlib import Path

from metrickit.exceptions import DatasetNotFoundError

__all__ = ["default_data_dir", "dataset_dir"]

ENV_VAR = "METRICKIT_DATA"


def default_data_dir(data_dir: str | os.PathLike | None = None) -> Path:
    """The data root: the argument, else ``$METRICKIT_DATA``, else ``../shared/data`` beside the repository."""
    if data_dir is not None:
        return Path(data_dir)
    if os.environ.get(ENV_VAR):
        return Path(os.environ[ENV_VAR])
    repo_root = Path(__file__).resolve().parents[3]  # src/metrickit/datasets/paths.py -> repo root
    return repo_root.parent / "shared" / "data"


def dataset_dir(name: str, data_dir: str | os.PathLike | None = None) -> Path:
    """The folder of dataset ``name`` under the data root, or a clear error saying where it was looked for."""
    root = default_data_dir(data_dir)
    folder = root / name
    if not folder.is_dir():
        raise DatasetNotFoundError(
            f"Dataset folder {folder} does not exist. Pass --data-dir (or data_dir=), or set {ENV_VAR}, "
            f"to a folder that contains '{name}/'."
        )
    return folder
