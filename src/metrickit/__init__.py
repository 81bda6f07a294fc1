"""metrickit: learn distance functions from data.

Subpackages are imported on demand (``metrickit.distances``, ``metrickit.linear``, ...), so that
``import metrickit`` and ``metrickit --help`` stay fast and never import torch.
"""

__version__ = "0.1.0"

__all__ = ["__version__"]
