"""Few-shot classification: Prototypical Networks and episodic evaluation (needs the ``torch`` extra for training)."""

from metrickit.fewshot.episodes import EpisodeFile, FewShotReport, evaluate_episodes, make_episodes
from metrickit.fewshot.protonet import prototype_logits, prototypes, prototypical_loss
from metrickit.fewshot.train import FewShotConfig, FewShotResult, train_protonet

__all__ = [
    "EpisodeFile",
    "FewShotConfig",
    "FewShotReport",
    "FewShotResult",
    "evaluate_episodes",
    "make_episodes",
    "prototype_logits",
    "prototypes",
    "prototypical_loss",
    "train_protonet",
]
