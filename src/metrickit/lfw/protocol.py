"""LFW's protocol (Huang et al. 2007): who trains, who sets the threshold, who is scored, and the checks that keep them apart.

- View 1 (development): train on ``pairsDevTrain``, score ``pairsDevTest`` (ROC AUC and EER; no threshold is set).
  Every development choice is made here. View 1 and View 2 share 2,465 people, so no View 1 model scores View 2.
- View 2 (the report): 10 person-disjoint folds. Experiment ``k`` tests fold ``k``; the nine others are its training
  data: eight train the model and the ninth (fold ``k + 1``, cyclically) sets the threshold, on people the model never
  saw, as the test fold's people will be. The final model (for ``verify predict``) trains on folds 1-9 and sets its
  threshold on fold 10.
- Settings: *image-restricted* trains on the training folds' pairs and their same/different labels only;
  *unrestricted* trains on every image of the people in the training folds' pairs, labelled by person (people with at
  least ``min_images`` images), and nobody else. Training images byte-identical to a scored or calibration image
  (LFW stores two images under two names each) are left out.

The threshold is the one that maximises accuracy on the calibration pairs (LFW's convention), halfway between the
distances around it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from metrickit.datasets.labeled import LabeledSet
from metrickit.datasets.lfw import PairList

__all__ = ["SETTINGS", "Experiment", "TrainingData", "best_accuracy_threshold", "final_experiment", "training_data", "view1_experiment",
           "view2_experiments"]

SETTINGS = ("restricted", "unrestricted")
VIEW2_FOLDS = 10


@dataclass(frozen=True)
class Experiment:
    """One round: ``fit`` pairs train (restricted: the pairs; unrestricted: their people), ``calibration`` pairs set the
    threshold (None in View 1), ``test`` pairs are scored (None for the final model)."""

    name: str
    view: str
    fit: PairList
    calibration: PairList | None
    test: PairList | None
    fold: int | None = None

    def record(self, data: LabeledSet) -> dict[str, Any]:
        """What a model file keeps: the view, the folds and the people of each part (to check what it may be scored on)."""
        part = lambda pairs: None if pairs is None else sorted(set(np.unique(pairs.fold).tolist()))  # noqa: E731
        return {"name": self.name, "view": self.view, "fold": self.fold, "fit_folds": part(self.fit),
                "calibration_folds": part(self.calibration), "test_folds": part(self.test),
                "test_people": self.test.people(data) if self.test is not None else []}


def view1_experiment(train: PairList, test: PairList) -> Experiment:
    """Development: train on ``pairsDevTrain``, score ``pairsDevTest``."""
    return Experiment("view1", "view1", train, None, test)


def view2_experiments(pairs: PairList) -> list[Experiment]:
    """The 10 experiments of View 2: test fold k, threshold on fold k + 1 (cyclically), train on the other eight."""
    if pairs.n_folds != VIEW2_FOLDS:
        raise ValueError(f"View 2 has {VIEW2_FOLDS} folds; this pair list has {pairs.n_folds}.")
    return [Experiment(f"fold{k + 1}", "view2", pairs.folds([f for f in range(VIEW2_FOLDS) if f not in (k, (k + 1) % VIEW2_FOLDS)]),
                       pairs.folds([(k + 1) % VIEW2_FOLDS]), pairs.folds([k]), k) for k in range(VIEW2_FOLDS)]


def final_experiment(pairs: PairList) -> Experiment:
    """The model to use after the report: trained on View 2's folds 1-9, threshold on fold 10, nothing scored."""
    return Experiment("final", "view2", pairs.folds(range(VIEW2_FOLDS - 1)), pairs.folds([VIEW2_FOLDS - 1]), None)


@dataclass(frozen=True)
class TrainingData:
    """What a method may learn from in one experiment: ``images`` (a subset of the LFW set, labelled by person only in
    the unrestricted setting, else by image), the ``people`` they show (recorded in the model, never used to train in
    the restricted setting), and for the restricted setting the ``pairs`` (``first``, ``second`` indices into
    ``images``, ``same``)."""

    setting: str
    images: LabeledSet
    people: list[str]
    first: np.ndarray | None = None
    second: np.ndarray | None = None
    same: np.ndarray | None = None
    dropped_duplicates: int = 0

    def summary(self) -> dict[str, Any]:
        return {"setting": self.setting, "images": len(self.images.labels), "people": len(self.people) if self.setting == "unrestricted" else None,
                "pairs": None if self.same is None else len(self.same), "dropped_duplicates": self.dropped_duplicates}


def training_data(data: LabeledSet, experiment: Experiment, setting: str, *, min_images: int = 2) -> TrainingData:
    """The training data of ``experiment`` under ``setting`` (see the module docstring), checked disjoint from the people
    it is calibrated and scored on."""
    if setting not in SETTINGS:
        raise ValueError(f"`setting` must be one of {', '.join(map(repr, SETTINGS))}; got {setting!r}.")
    held = [pairs for pairs in (experiment.calibration, experiment.test) if pairs is not None]
    held_people = set().union(*(pairs.people(data) for pairs in held)) if held else set()
    held_digests = set(data.extra["digest"][np.concatenate([pairs.images() for pairs in held])].tolist()) if held else set()
    if setting == "restricted":
        used, first, second = experiment.fit.local()
        images = data.subset(np.isin(np.arange(len(data.labels)), used))
        images.labels = np.array(images.ids)  # the image, not the person: restricted training never sees names
        people = set(data.labels[used].tolist())
        result = TrainingData(setting, images, sorted(people), first, second, experiment.fit.same.copy())
    else:
        people = set(experiment.fit.people(data))
        of_people = np.isin(data.labels, sorted(people))
        duplicate = np.isin(data.extra["digest"], sorted(held_digests))
        names, counts = np.unique(data.labels[of_people & ~duplicate], return_counts=True)
        keep = of_people & ~duplicate & np.isin(data.labels, names[counts >= min_images])
        result = TrainingData(setting, data.subset(keep), sorted(set(data.labels[keep].tolist())),
                              dropped_duplicates=int((of_people & duplicate).sum()))
    clash = sorted(people & held_people)
    if clash:
        raise ValueError(f"{experiment.name}: training people {clash[:5]} are also among the people it is calibrated or scored on.")
    if setting == "restricted" and held_digests & set(images.extra["digest"].tolist()):
        raise ValueError(f"{experiment.name}: a training image is byte-identical to a calibration or test image.")
    return result


def best_accuracy_threshold(distances: np.ndarray, same: np.ndarray) -> tuple[float, float]:
    """``(threshold, accuracy)``: the distance threshold (accept at or below) that classifies the most pairs correctly,
    halfway between the two distances around it."""
    distances, same = np.asarray(distances, dtype=np.float64), np.asarray(same, dtype=bool)
    if not np.isfinite(distances).all():
        raise ValueError("`distances` must be finite; found NaN or inf.")
    order = np.argsort(distances, kind="stable")
    d, s = distances[order], same[order]
    # accepting the first i pairs: correct = matched among them + mismatched after them
    correct = np.concatenate([[0], np.cumsum(s)]) + np.concatenate([[(~s).sum()], (~s).sum() - np.cumsum(~s)])
    cut = np.flatnonzero(np.concatenate([[True], d[1:] > d[:-1], [True]]))  # cut points between distinct distances
    best = cut[np.argmax(correct[cut])]
    below = d[best - 1] if best > 0 else d[0] - 1.0
    above = d[best] if best < len(d) else d[-1] + 1.0
    return float((below + above) / 2), float(correct[best] / len(d))
