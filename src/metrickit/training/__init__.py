"""Training of deep embedders: config, loop, exact-resume checkpoints (needs the ``torch`` extra).

Names load on first use, so ``metrickit.training.config`` (the settings and their defaults, which ``--help`` shows)
imports without torch.
"""

from __future__ import annotations

import importlib
from typing import Any

__all__ = ["ClassSplit", "TrainConfig", "TrainResult", "load_config", "prepare_classes", "train"]

_HOME = {"TrainConfig": "config", "load_config": "config", "ClassSplit": "loop", "TrainResult": "loop", "prepare_classes": "loop",
         "train": "loop"}


def __getattr__(name: str) -> Any:
    if name not in _HOME:
        raise AttributeError(f"module 'metrickit.training' has no attribute {name!r}")
    return getattr(importlib.import_module(f"metrickit.training.{_HOME[name]}"), name)
