"""Miners for torch embeddings (needs the ``torch`` extra).

Triplet miners return :class:`TripletIndices` (anchor, positive, negative); the Multi-Similarity miner returns
:class:`PairIndices`, which pair losses take.
"""

from metrickit._types import PairIndices, TripletIndices
from metrickit.miners.multi_similarity import MultiSimilarityMiner
from metrickit.miners.triplet import BatchAllMiner, BatchHardMiner, RandomTripletMiner, SemiHardMiner, TripletMiner

__all__ = ["BatchAllMiner", "BatchHardMiner", "MultiSimilarityMiner", "PairIndices", "RandomTripletMiner", "SemiHardMiner", "TripletIndices", "TripletMiner"]
