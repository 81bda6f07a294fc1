"""Training of deep embedders: the one loop, configs, exact-resume checkpoints (needs the ``torch`` extra).

Names load on first use, so ``metrickit.training.config`` (the settings and their defaults, which ``--help`` shows)
imports without torch.
"""

from metrickit._lazy import lazy_attributes

_HOMES = {"TrainConfig": "config", "LoopConfig": "config", "load_config": "config", "ClassSplit": "loop", "TrainResult": "loop",
          "prepare_classes": "loop", "train": "loop", "fit": "engine"}
__all__ = sorted(_HOMES)
__getattr__ = lazy_attributes(__name__, _HOMES)
