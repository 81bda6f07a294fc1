"""metrickit: learn distance functions from data.

Subpackages are imported on demand (``metrickit.distances``, ``metrickit.linear``, ...), so that
``import metrickit`` and ``metrickit --help`` stay fast and never import torch.
"""

from __future__ import annotations

import os

__version__ = "0.1.0"

__all__ = ["__version__", "load_model"]


def load_model(path: str | os.PathLike):
    """Load a saved model: a deep embedder (``.safetensors``) or a linear metric (``.npz`` + ``.json``).

    Neither format unpickles anything.
    """
    from pathlib import Path

    if Path(path).suffix.lower() == ".safetensors":
        from metrickit.models.artifact import load_deep_model

        return load_deep_model(path)
    from metrickit.linear.io import load_model as load_linear

    return load_linear(path)
