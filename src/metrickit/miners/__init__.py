"""Triplet miners for torch embeddings (needs the ``torch`` extra)."""

from metrickit.miners.triplet import BatchAllMiner, BatchHardMiner, RandomTripletMiner, SemiHardMiner, TripletMiner

__all__ = ["BatchAllMiner", "BatchHardMiner", "RandomTripletMiner", "SemiHardMiner", "TripletMiner"]
