"""Batch samplers: class-balanced P x K batches and few-shot episodes (numpy only; usable as DataLoader batch samplers)."""

from metrickit.samplers.class_balanced import ClassBalancedBatchSampler
from metrickit.samplers.episode import Episode, EpisodeSampler, split_episode

__all__ = ["ClassBalancedBatchSampler", "Episode", "EpisodeSampler", "split_episode"]
