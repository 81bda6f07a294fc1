"""metrickit: learn distance functions from data.

Subpackages are imported on demand (``metrickit.distances``, ``metrickit.linear``, ...), so that
``import metrickit`` and ``metrickit --help`` stay fast and never import torch.
"""

from __future__ import annotations

import os

__version__ = "0.1.0"

__all__ = ["__version__", "load_model"]


def load_model(path: str | os.PathLike):
    """Load a saved model: a deep embedder (``.safetensors``), a linear metric (``.npz``) or a run folder's final model.

    Every kind offers the same :class:`~metrickit.models.base.MetricModel` interface; neither format unpickles anything.
    """
    from metrickit.models.base import load_model as load

    return load(path)
