"""Linear metric learning (numpy/scipy/scikit-learn only; never imports torch). Names load on first use."""

from metrickit._lazy import lazy_attributes

_HOMES = {"LMNN": "lmnn", "lmnn_objective": "lmnn", "LinearMetricModel": "io", "load_model": "io", "model_from_lmnn": "io",
          "save_model": "io", "MahalanobisMixin": "base"}
__all__ = sorted(_HOMES)
__getattr__ = lazy_attributes(__name__, _HOMES)
