"""Few-shot classification: Prototypical Networks, two baselines trained on the same episodes, episodic evaluation (torch extra)."""

from metrickit.fewshot.episodes import EpisodeFile, FewShotReport, evaluate_episodes, make_episodes
from metrickit.fewshot.protonet import prototype_logits, prototypes, prototypical_loss
from metrickit.fewshot.train import METHODS, FewShotConfig, FewShotObjective, FewShotResult, train_fewshot

__all__ = [
    "METHODS",
    "EpisodeFile",
    "FewShotConfig",
    "FewShotObjective",
    "FewShotReport",
    "FewShotResult",
    "evaluate_episodes",
    "make_episodes",
    "prototype_logits",
    "prototypes",
    "prototypical_loss",
    "train_fewshot",
]
