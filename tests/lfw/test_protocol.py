"""LFW's protocol: experiments, training data per setting, the disjointness checks and the accuracy threshold."""

import numpy as np
import pytest

from metrickit.datasets.labeled import LabeledSet
from metrickit.datasets.lfw import PairList, lfw_preprocessing
from metrickit.lfw.protocol import best_accuracy_threshold, final_experiment, training_data, view1_experiment, view2_experiments


def fake_lfw(n_folds: int = 10, per_fold_people: int = 4, images_each: int = 3, seed: int = 0):
    """People p<fold>_<i> with ``images_each`` images; per fold, matched pairs within a person and mismatched pairs across
    two people of the same fold (person-disjoint folds, as View 2's)."""
    rng = np.random.default_rng(seed)
    people = [f"p{f}_{i}" for f in range(n_folds) for i in range(per_fold_people)]
    labels = np.repeat(people, images_each)
    numbers = np.tile(np.arange(1, images_each + 1), len(people))
    X = rng.integers(0, 256, size=(len(labels), 1, 16, 16), dtype=np.uint8)
    digests = np.array([f"d{k}" for k in range(len(labels))])
    data = LabeledSet(X, labels, lfw_preprocessing(100, 16), [f"{p}/{p}_{n:04d}.jpg" for p, n in zip(labels, numbers)],
                      {"number": numbers, "digest": digests}, "lfw", prepared=False)
    first, second, same, fold = [], [], [], []
    for f in range(n_folds):
        base = f * per_fold_people * images_each
        for i in range(per_fold_people):
            first.append(base + i * images_each)
            second.append(base + i * images_each + 1)
            same.append(True)
            fold.append(f)
        for i in range(per_fold_people):
            first.append(base + i * images_each + 2)
            second.append(base + ((i + 1) % per_fold_people) * images_each)
            same.append(False)
            fold.append(f)
    return data, PairList("view2", np.array(first), np.array(second), np.array(same), np.array(fold))


def test_view2_experiments_train_on_eight_folds_calibrate_on_the_ninth_and_test_the_tenth():
    _, pairs = fake_lfw()
    experiments = view2_experiments(pairs)
    assert [e.name for e in experiments] == [f"fold{k}" for k in range(1, 11)]
    for k, e in enumerate(experiments):
        assert set(e.test.fold) == {k} and set(e.calibration.fold) == {(k + 1) % 10}
        assert set(e.fit.fold) == set(range(10)) - {k, (k + 1) % 10}
    final = final_experiment(pairs)
    assert final.test is None and set(final.calibration.fold) == {9} and set(final.fit.fold) == set(range(9))
    with pytest.raises(ValueError, match="View 2 has 10 folds"):
        view2_experiments(pairs.folds(range(5)))


def test_training_data_by_setting():
    data, pairs = fake_lfw()
    experiment = view2_experiments(pairs)[0]
    restricted = training_data(data, experiment, "restricted")
    fit_images = experiment.fit.images()
    assert len(restricted.images.labels) == len(fit_images) and set(restricted.images.labels) == {data.ids[i] for i in fit_images}
    assert np.array_equal(restricted.images.X[restricted.first], data.X[experiment.fit.first])  # pairs re-indexed into the subset
    assert np.array_equal(restricted.same, experiment.fit.same)
    unrestricted = training_data(data, experiment, "unrestricted")
    assert set(unrestricted.images.labels) == set(experiment.fit.people(data))
    assert len(unrestricted.images.labels) == 8 * 4 * 3  # every image of those people, also the ones no pair uses
    assert training_data(data, experiment, "unrestricted", min_images=4).images.labels.size == 0
    with pytest.raises(ValueError, match="`setting` must be one of"):
        training_data(data, experiment, "semi")


def test_training_data_refuses_shared_people_and_drops_byte_identical_images():
    data, pairs = fake_lfw()
    experiment = view2_experiments(pairs)[0]
    leaky = PairList("view2", pairs.first.copy(), pairs.second.copy(), pairs.same, pairs.fold.copy())
    leaky.fold[pairs.fold == 0] = 2  # fold 1's people now also train
    broken = view2_experiments(leaky)
    with pytest.raises(ValueError, match="also among the people it is calibrated or scored on"):
        training_data(data, type(broken[2])(broken[2].name, "view2", leaky.folds([0, 3, 4, 5, 6, 7, 8, 9]), broken[2].calibration,
                                            leaky.folds([2]), 2), "unrestricted")
    test_image = experiment.test.first[0]
    fit_person_image = np.flatnonzero(data.labels == experiment.fit.people(data)[0])[2]
    data.extra["digest"][fit_person_image] = data.extra["digest"][test_image]  # the same file under two names
    unrestricted = training_data(data, experiment, "unrestricted")
    assert unrestricted.dropped_duplicates == 1 and data.ids[fit_person_image] not in unrestricted.images.ids


def test_view1_experiment_has_no_threshold_pairs():
    _, pairs = fake_lfw()
    experiment = view1_experiment(pairs.folds([0, 1]), pairs.folds([2]))
    assert experiment.view == "view1" and experiment.calibration is None


def test_best_accuracy_threshold():
    distances = np.array([0.1, 0.2, 0.3, 0.4, 0.5, 0.6])
    same = np.array([True, True, False, True, False, False])
    threshold, accuracy = best_accuracy_threshold(distances, same)
    assert threshold == pytest.approx(0.25) and accuracy == pytest.approx(5 / 6)  # 0.45 ties it; the first best is kept
    threshold, accuracy = best_accuracy_threshold(np.array([1.0, 1.0, 2.0]), np.array([True, False, False]))
    assert threshold == 0.5 and accuracy == pytest.approx(2 / 3)  # equal distances are never split: accept both or neither
    assert best_accuracy_threshold(np.array([3.0, 1.0]), np.array([False, True])) == (2.0, 1.0)
    with pytest.raises(ValueError, match="finite"):
        best_accuracy_threshold(np.array([np.nan, 1.0]), np.array([True, False]))
