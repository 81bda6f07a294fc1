import numpy as np
import pytest

from metrickit.datasets.trajectories import Trajectory, trajectory_set
from metrickit.signatures.evaluate import dtw_method, euclidean_resampled_method, resample, run_protocol
from metrickit.signatures.protocol import (
    calibrated_threshold,
    evaluate_trials,
    rates_at_threshold,
    svc_folds,
    svc_trials,
    trial_scores,
)

CHANNELS = ("x", "y", "t", "stroke_start", "pressure")


def _svc_like(users: int, seed: int = 0):
    """Each user a smooth curve of their own; genuine signatures small variations of it, forgeries larger ones."""
    rng = np.random.default_rng(seed)
    trajectories, labels, samples = [], [], []
    for user in range(1, users + 1):
        freq = rng.uniform(1, 4, size=2)
        for sample in range(1, 41):
            n = int(rng.integers(40, 60))
            s = np.linspace(0, 1, n)
            wobble = 0.05 if sample <= 20 else 0.6
            x = np.sin(2 * np.pi * (freq[0] + wobble * rng.normal()) * s) * 1000 + 5000
            y = np.cos(2 * np.pi * (freq[1] + wobble * rng.normal()) * s) * 800 + 3000
            points = np.column_stack([x, y, np.arange(n) * 10.0, (np.arange(n) == 0).astype(float), 200 + 50 * s])
            trajectories.append(Trajectory(points, CHANNELS, f"U{user}S{sample}"))
            labels.append(f"user{user}")
            samples.append(sample)
    samples = np.array(samples)
    return trajectory_set(trajectories, np.array(labels), [t.name for t in trajectories], {"forged": samples > 20, "sample": samples}, "fake")


def test_trials_follow_svc2004_and_are_the_same_for_every_call():
    data = _svc_like(3)
    labels, samples, forged = data.labels, data.extra["sample"], data.extra["forged"]
    trials = svc_trials(labels, samples, forged, ["user1", "user2", "user3"], seed=7)
    assert len(trials) == 30
    for trial in trials:
        assert len(trial.references) == 5 and set(samples[trial.references]) <= set(range(1, 11))
        assert np.all(labels[trial.references] == trial.user) and not forged[trial.references].any()
        assert sorted(samples[trial.genuine]) == list(range(11, 21)) and sorted(samples[trial.skilled]) == list(range(21, 41))
        assert len(set(trial.random)) == 20 and np.all(labels[trial.random] != trial.user) and not forged[trial.random].any()
    again = svc_trials(labels, samples, forged, ["user1", "user2", "user3"], seed=7)
    assert all(np.array_equal(a.references, b.references) and np.array_equal(a.random, b.random) for a, b in zip(trials, again))
    assert len({tuple(t.references) for t in trials if t.user == "user1"}) > 1  # trials draw different enrolments
    with pytest.raises(ValueError, match="at least 2 users"):
        svc_trials(labels, samples, forged, ["user1"])
    with pytest.raises(ValueError, match="do not split into 4 equal folds"):
        svc_folds([f"user{u}" for u in range(1, 31)], 4)


def test_scores_are_the_least_reference_distance_over_the_references_spread():
    data = _svc_like(2)
    trial = svc_trials(data.labels, data.extra["sample"], data.extra["forged"], ["user1", "user2"])[0]
    distances = np.full((80, 80), np.nan)
    distances[np.ix_(trial.references, trial.references)] = 2.0
    distances[trial.references] = np.where(np.isnan(distances[trial.references]), 4.0, distances[trial.references])
    distances[trial.references[0], trial.genuine] = 1.0
    scores = trial_scores(distances, trial)
    assert np.allclose(scores["genuine"], 0.5) and np.allclose(scores["skilled"], 2.0)
    rows = evaluate_trials(distances, [trial])
    assert rows[0]["eer_skilled"] == 0 and rows[0]["eer_random"] == 0
    threshold = calibrated_threshold(rows)
    assert 0.5 <= threshold <= 2.0 and rates_at_threshold(rows, threshold) == {"threshold": threshold, "frr": 0.0, "far_skilled": 0.0,
                                                                               "far_random": 0.0}
    distances[trial.references[1], trial.skilled[0]] = np.nan
    with pytest.raises(ValueError, match="skilled probe distances are missing"):
        trial_scores(distances, trial)


def test_the_protocol_separates_forgeries_and_keeps_training_validation_and_test_writers_apart():
    data = _svc_like(12)
    seen = []

    def fit(training):
        seen.append(sorted(set(training.labels.tolist())))
        return dtw_method(window=10)

    result = run_protocol(data, fit, n_trials=3)
    assert [f["test_writers"] for f in result["folds"]] == [[f"user{u}" for u in range(a, a + 4)] for a in (1, 5, 9)]
    assert [f["validation_writers"] for f in result["folds"]] == [["user5", "user6"], ["user9", "user10"], ["user1", "user2"]]
    for fold, training in zip(result["folds"], seen):
        assert training == sorted(fold["training_writers"]) and len(training) == 6
        assert not set(training) & (set(fold["test_writers"]) | set(fold["validation_writers"]))
    assert result["summary"]["eer_skilled"]["mean"] < 0.25 and len(result["folds"][0]["per_user"]) == 4
    euclidean = run_protocol(data, lambda training: euclidean_resampled_method(16), n_trials=3)
    assert set(euclidean["summary"]) == set(result["summary"])


def test_resampling_keeps_the_ends_and_interpolates_between():
    sequence = np.column_stack([np.arange(5.0), np.arange(5.0) ** 2])
    out = resample(sequence, 9)
    assert out.shape == (9, 2) and out[0].tolist() == [0, 0] and out[-1].tolist() == [4, 16] and out[1, 0] == 0.5


@pytest.mark.realdata
def test_dtw_on_the_real_task2_files_runs_the_protocol(svc2004_online_dir):
    from metrickit.datasets.trajectories import load_svc2004_online

    data = load_svc2004_online(svc2004_online_dir.parent)
    result = run_protocol(data.of([f"user{u}" for u in range(1, 13)]), lambda training: dtw_method(), n_trials=2)
    summary = result["summary"]
    assert 0 <= summary["eer_skilled"]["mean"] <= 1 and 0 <= summary["eer_random"]["mean"] <= 1 and len(result["folds"]) == 3
