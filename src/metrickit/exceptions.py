"""Exceptions and warnings raised by metrickit."""

from sklearn.exceptions import ConvergenceWarning, NotFittedError

__all__ = ["ConvergenceWarning", "NotFittedError", "MissingDependencyError", "DatasetNotFoundError"]


class MissingDependencyError(ImportError):
    """An optional dependency is needed; the message names the extra to install."""


class DatasetNotFoundError(FileNotFoundError):
    """A dataset folder or file is missing; the message names the path that was searched."""
