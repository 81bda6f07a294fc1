"""The learners of each signature method, by setting name: each maps training writers' trajectories to a
:class:`~metrickit.signatures.model.SignatureModel` (thresholds are set afterwards, on validation writers).

- 'dtw': nothing to learn (one setting).
- 'dtw-lmnn': :class:`~metrickit.signatures.dtw_lmnn.DTWMetricLearner` with a full or diagonal M and push weight 0.5
  or 0.9 (4 settings), two alignment rounds.
- 'embedder': :class:`~metrickit.signatures.embedder.SequenceEmbedder` trained with contrastive or triplet loss
  (2 settings).
"""

from __future__ import annotations

from typing import Callable

from metrickit.datasets.labeled import LabeledSet
from metrickit.signatures import SIGNATURE_METHODS
from metrickit.signatures.model import SignatureModel

__all__ = ["LMNN_GRID", "signature_learners"]

LMNN_GRID = {f"{'diagonal' if diagonal else 'full'} M, mu {mu}": {"diagonal": diagonal, "push_weight": mu}
             for diagonal in (False, True) for mu in (0.5, 0.9)}


def signature_learners(method: str, *, window: int = 20, seed: int = 0, embedder_epochs: int = 30,
                       threads: int | None = None) -> dict[str, Callable[[LabeledSet], SignatureModel]]:
    """Setting name -> learner for ``method`` (one of :data:`~metrickit.signatures.SIGNATURE_METHODS`)."""
    from metrickit.signatures.evaluate import features_of

    if method not in SIGNATURE_METHODS:
        raise ValueError(f"`method` must be one of {', '.join(SIGNATURE_METHODS)} for trajectories; got {method!r}.")

    def dtw(training: LabeledSet) -> SignatureModel:
        return SignatureModel("dtw", window, tuple(training.channels), info={"setting": "plain"})

    def dtw_lmnn(label: str, settings: dict):
        def fit(training: LabeledSet) -> SignatureModel:
            from metrickit.signatures.dtw_lmnn import DTWMetricLearner

            learned = DTWMetricLearner(window, n_alignments=2, random_state=seed, **settings).fit(
                features_of(training), training.labels, training.extra["sample"], training.extra["forged"])
            return SignatureModel("dtw-lmnn", window, tuple(training.channels), learned.components_,
                                  info={"setting": label, "loss_curve": learned.loss_curve_})

        return fit

    def embedder(loss: str):
        def fit(training: LabeledSet) -> SignatureModel:
            import torch

            from metrickit.signatures.embedder import fit_sequence_embedder

            if threads:
                torch.set_num_threads(threads)
            model, history = fit_sequence_embedder(features_of(training), training.labels, training.extra["forged"], loss=loss,
                                                   epochs=embedder_epochs, seed=seed)
            return SignatureModel("embedder", window, tuple(training.channels), embedder=model, info={"setting": loss, "history": history})

        return fit

    if method == "dtw":
        return {"plain": dtw}
    if method == "dtw-lmnn":
        return {label: dtw_lmnn(label, settings) for label, settings in LMNN_GRID.items()}
    return {loss: embedder(loss) for loss in ("contrastive", "triplet")}
