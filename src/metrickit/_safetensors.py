"""Safetensors files written atomically and read with one clear error: tensors plus string metadata, no pickles."""

from __future__ import annotations

import os
from pathlib import Path

import torch

from metrickit._io import atomic_path

__all__ = ["read_safetensors", "write_safetensors"]


def write_safetensors(path: str | os.PathLike, tensors: dict[str, torch.Tensor], metadata: dict[str, str], *, overwrite: bool) -> Path:
    from safetensors.torch import save_file

    with atomic_path(path, overwrite=overwrite) as tmp:
        save_file(tensors, str(tmp), metadata=metadata)
    return Path(path)


def read_safetensors(path: str | os.PathLike, what: str) -> tuple[dict[str, str], dict[str, torch.Tensor]]:
    """``(metadata, tensors)`` of ``path``; a missing file raises FileNotFoundError, an unreadable one ValueError, naming it as ``what``."""
    from safetensors import SafetensorError
    from safetensors.torch import load_file, safe_open

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{what} {path} does not exist.")
    try:
        with safe_open(str(path), framework="pt") as handle:
            metadata = handle.metadata() or {}
        return metadata, load_file(str(path))
    except (SafetensorError, OSError, ValueError) as error:
        raise ValueError(f"{path} is not a readable safetensors {what}: {error}") from None
