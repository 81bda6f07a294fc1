"""Metric models: the embedding networks and their Siamese use (need the ``torch`` extra), and what every saved model
offers (:mod:`metrickit.models.base`, torch-free). Names load on first use."""

from metrickit._lazy import lazy_attributes

_HOMES = {
    **dict.fromkeys(["ARCHITECTURES", "MLP", "ColourHistogram", "Conv4", "EmbeddingNet", "LinearEmbedder", "Pixels", "SmallResNet",
                     "build_embedder"], "embedding"),
    "SiameseNetwork": "siamese",
    **dict.fromkeys(["EuclideanModel", "MetricModel", "load_model"], "base"),
    **dict.fromkeys(["DeepMetricModel", "load_deep_model", "save_deep_model"], "artifact"),
}
__all__ = sorted(_HOMES)
__getattr__ = lazy_attributes(__name__, _HOMES)
