"""Distances: Euclidean and Mahalanobis (pairwise, paired, top-k), computed in memory-bounded blocks,
and a checker of the metric axioms."""

from metrickit.distances.axioms import AxiomReport, check_metric_axioms
from metrickit.distances.functional import (
    Neighbors,
    euclidean_distances,
    mahalanobis_distances,
    paired_euclidean_distances,
    paired_mahalanobis_distances,
    top_k_neighbors,
)
from metrickit.distances.mahalanobis import Mahalanobis
from metrickit.distances.psd import check_psd_matrix

__all__ = [
    "AxiomReport",
    "Mahalanobis",
    "Neighbors",
    "check_metric_axioms",
    "check_psd_matrix",
    "euclidean_distances",
    "mahalanobis_distances",
    "paired_euclidean_distances",
    "paired_mahalanobis_distances",
    "top_k_neighbors",
]
