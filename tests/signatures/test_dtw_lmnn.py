import numpy as np
import pytest

from metrickit.signatures.dtw_lmnn import DTWMetricLearner, alignment_triplets


def _writers(rng, n_writers=4):
    """Feature 0: the writer's shape (forgeries copy it); feature 1: forgeries drift from it; feature 2: noise in all."""
    sequences, writers, samples, forged = [], [], [], []
    for w in range(n_writers):
        shape = np.sin(np.linspace(0, 6, 40) * (1 + w / 3))
        for s in range(1, 41):
            is_forged = s > 20
            drift = np.linspace(0, 2, 40) if is_forged else np.zeros(40)
            sequences.append(np.column_stack([shape + 0.05 * rng.normal(size=40), shape + drift + 0.05 * rng.normal(size=40),
                                              rng.normal(size=40)]))
            writers.append(f"user{w}")
            samples.append(s)
            forged.append(is_forged)
    return sequences, np.array(writers), np.array(samples), np.array(forged)


def test_triplets_pair_each_anchor_with_its_own_writers_genuine_and_forged_signatures(rng):
    _, writers, samples, forged = _writers(rng, 3)
    targets, impostors, triplets = alignment_triplets(writers, samples, forged, n_targets=2, n_impostors=3, seed=0)
    assert len(targets) == 3 * 10 * 2 and len(impostors) == 3 * 10 * 3 and len(triplets) == 3 * 10 * 6
    assert np.all(samples[targets[:, 0]] <= 10) and not forged[targets].any() and np.all(targets[:, 0] != targets[:, 1])
    assert np.all(writers[targets[:, 0]] == writers[targets[:, 1]]) and np.all(writers[impostors[:, 0]] == writers[impostors[:, 1]])
    assert forged[impostors[:, 1]].all() and np.all(targets[triplets[:, 0], 0] == impostors[triplets[:, 1], 0])
    with pytest.raises(ValueError, match="nothing to learn from"):
        alignment_triplets(writers, samples, np.zeros_like(forged), n_targets=2, n_impostors=2, seed=0)


@pytest.mark.parametrize("diagonal", [False, True])
def test_the_learned_cost_weighs_the_feature_that_tells_forgeries_apart_above_noise(rng, diagonal):
    sequences, writers, samples, forged = _writers(rng)
    learner = DTWMetricLearner(window=5, push_weight=0.9, n_alignments=2, max_iter=100, diagonal=diagonal).fit(sequences, writers, samples, forged)
    weights = np.diag(learner.metric_)
    assert weights[1] > weights[2] and learner.active_fraction_[-1] < 1
    assert learner.components_.shape == (3, 3) and np.allclose(learner.components_.T @ learner.components_, learner.metric_)
    if diagonal:
        assert np.allclose(learner.metric_, np.diag(weights))


def test_bad_settings_and_a_collapsed_metric_are_refused(rng):
    sequences, writers, samples, forged = _writers(rng, 2)
    with pytest.raises(ValueError, match="`push_weight` must lie in"):
        DTWMetricLearner(push_weight=2).fit(sequences, writers, samples, forged)
    with pytest.raises(ValueError, match="`margin` must be > 0"):
        DTWMetricLearner(margin=0).fit(sequences, writers, samples, forged)
    with pytest.raises(ValueError, match="collapsed to zero"):
        DTWMetricLearner(window=5, push_weight=0.0, n_alignments=1, max_iter=200).fit(sequences, writers, samples, forged)
