"""Few-shot classification: Prototypical Networks, two baselines trained on the same episodes, episodic evaluation
(torch extra). Names load on first use, so ``metrickit.fewshot.config`` imports without torch."""

from metrickit._lazy import lazy_attributes

_HOMES = {"METHODS": "config", "FewShotConfig": "config", "EpisodeFile": "episodes", "FewShotReport": "episodes",
          "evaluate_episodes": "episodes", "make_episodes": "episodes", "prototype_logits": "protonet", "prototypes": "protonet",
          "prototypical_loss": "protonet", "FewShotResult": "train", "train_fewshot": "train"}
__all__ = sorted(_HOMES)
__getattr__ = lazy_attributes(__name__, _HOMES)
