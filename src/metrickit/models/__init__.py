"""Embedding networks and their Siamese use (needs the ``torch`` extra)."""

from metrickit.models.embedding import ARCHITECTURES, MLP, ColourHistogram, Conv4, EmbeddingNet, LinearEmbedder, Pixels, SmallResNet, build_embedder
from metrickit.models.siamese import SiameseNetwork

__all__ = ["ARCHITECTURES", "MLP", "ColourHistogram", "Conv4", "EmbeddingNet", "LinearEmbedder", "Pixels", "SiameseNetwork", "SmallResNet", "build_embedder"]
