"""Triplet miners for torch embeddings (needs the ``torch`` extra).

Miners return :class:`TripletIndices` (anchor, positive, negative); pair losses take :class:`PairIndices`.
"""

from metrickit._types import PairIndices, TripletIndices
from metrickit.miners.triplet import BatchAllMiner, BatchHardMiner, RandomTripletMiner, SemiHardMiner, TripletMiner

__all__ = ["BatchAllMiner", "BatchHardMiner", "PairIndices", "RandomTripletMiner", "SemiHardMiner", "TripletIndices", "TripletMiner"]
