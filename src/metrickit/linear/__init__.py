"""Linear metric learning (numpy/scipy/scikit-learn only; never imports torch)."""

from metrickit.linear.base import MahalanobisMixin
from metrickit.linear.io import LinearMetricModel, load_model, model_from_lmnn, save_model
from metrickit.linear.lmnn import LMNN, lmnn_objective

__all__ = ["LMNN", "LinearMetricModel", "MahalanobisMixin", "lmnn_objective", "load_model", "model_from_lmnn", "save_model"]
