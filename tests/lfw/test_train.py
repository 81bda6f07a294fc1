"""Training one LFW experiment per method on a small fake LFW, and the checks before scoring."""

import numpy as np
import pytest
import torch

from metrickit.lfw.config import LfwConfig
from metrickit.lfw.evaluate import check_may_score, score_pairs, summarize_folds
from metrickit.lfw.pairs import GivenPairs, PairBatchSampler
from metrickit.lfw.protocol import view1_experiment, view2_experiments
from metrickit.lfw.train import kissme, train_experiment
from metrickit.losses.contrastive import ContrastiveLoss
from tests.lfw.test_protocol import fake_lfw

TINY = dict(crop=100, size=16, epochs=2, batches_per_epoch=3, n_classes_per_batch=4, n_per_class=2, embedding_dim=8, width=4)


@pytest.mark.parametrize("method,setting", [("euclidean", "restricted"), ("pca", "restricted"), ("hog-pca", "unrestricted"),
                                            ("hog-kissme", "restricted"), ("hog-lmnn", "unrestricted"), ("contrastive", "restricted"),
                                            ("triplet", "unrestricted"), ("arcface", "unrestricted")])
def test_every_method_trains_calibrates_and_is_scored_on_its_own_fold_only(method, setting):
    data, pairs = fake_lfw(per_fold_people=4, images_each=4)
    experiments = view2_experiments(pairs)
    config = LfwConfig.from_flat(method=method, setting=setting, pca_dim=12, cell=4, **TINY)
    model, record = train_experiment(data, experiments[0], config)
    assert model.threshold is not None and record["calibration_accuracy"] > 0
    assert model.info["experiment"]["test_folds"] == [0] and model.info["experiment"]["fit_folds"] == list(range(2, 10))
    assert not set(model.info["trained_people"]) & set(experiments[0].test.people(data))
    scored = score_pairs(model, data, experiments[0].test, "view2")
    assert scored["n_pairs"] == 8 and 0 <= scored["accuracy"] <= 1 and len(scored["distances"]) == 8
    with pytest.raises(ValueError, match="test fold is \\[0\\]; asked to score folds \\[1\\]"):
        score_pairs(model, data, experiments[1].test, "view2")
    with pytest.raises(ValueError, match="trained for view2; it cannot be scored on view1"):
        check_may_score(model, data, experiments[0].test, "view1")
    if method in ("contrastive", "triplet", "arcface"):
        assert len(record["deep"]["history"]) == 2


def test_a_view1_model_never_scores_view2_and_people_it_trained_on_are_refused():
    data, pairs = fake_lfw()
    experiment = view1_experiment(pairs.folds(range(5)), pairs.folds(range(5, 10)))
    model, _ = train_experiment(data, experiment, LfwConfig.from_flat(method="euclidean", setting="restricted", crop=100, size=16))
    assert model.threshold is None
    with pytest.raises(ValueError, match="trained for view1; it cannot be scored on view2"):
        check_may_score(model, data, pairs.folds([5]), "view2")
    with pytest.raises(ValueError, match="trained on 8 of the people"):
        check_may_score(model, data, pairs.folds([0, 1]), "view1")
    with pytest.raises(ValueError, match="only View 1"):
        train_experiment(data, view2_experiments(pairs)[0], LfwConfig.from_flat(method="euclidean", crop=100, size=16), monitor=pairs)


def test_identity_methods_are_refused_in_the_restricted_setting():
    with pytest.raises(ValueError, match="learns from identities"):
        LfwConfig.from_flat(method="arcface", setting="restricted")
    with pytest.raises(ValueError, match="`method` must be one of"):
        LfwConfig.from_flat(method="lmnn")


def test_kissme_weights_the_direction_where_matched_pairs_agree():
    rng = np.random.default_rng(0)
    same = rng.normal(size=(4000, 2)) * [0.1, 1.0]  # matched pairs differ little along x
    other = rng.normal(size=(4000, 2)) * [1.0, 1.0]
    L = kissme(same, other)
    metric = L.T @ L
    assert metric[0, 0] > 50 * abs(metric[1, 1]) and np.all(np.linalg.eigvalsh(metric) >= -1e-9)


def test_given_pairs_batches_and_loss():
    sampler = PairBatchSampler(5, 2, n_batches=4, seed=1)
    batches = list(sampler)
    assert len(batches) == 4 and all(len(b) == 4 and b[1] == b[0] + 1 and b[0] % 2 == 0 for b in batches)
    firsts = [b[0] // 2 for b in batches] + [b[2] // 2 for b in batches]
    assert set(firsts) == set(range(5))  # each epoch's draws run through a permutation of every pair first
    with pytest.raises(ValueError, match="more than the 5 pairs"):
        PairBatchSampler(5, 6)
    embeddings = torch.randn(6, 3)
    codes = torch.tensor([0, 0, 1, -2, 2, 2])  # pairs: matched, mismatched, matched
    loss, active = GivenPairs(margin=1.0)(embeddings, codes)
    from metrickit._types import PairIndices

    expected = ContrastiveLoss(1.0)(embeddings, indices=PairIndices(torch.tensor([0, 4]), torch.tensor([1, 5]), torch.tensor([2]), torch.tensor([3])))
    assert torch.allclose(loss, expected) and 0 <= active <= 1


def test_summary_over_folds():
    folds = []
    rng = np.random.default_rng(0)
    for k in range(10):
        same = np.repeat([True, False], 300)
        distances = np.where(same, rng.normal(1.0, 0.3, 600), rng.normal(2.0, 0.3, 600))
        folds.append({"accuracy": 0.9 + 0.01 * (k % 3), "roc_auc": 0.95, "eer": 0.05, "threshold": 1.5,
                      "distances": distances.tolist(), "same": same.tolist()})
    summary = summarize_folds(folds)
    accuracies = np.array([f["accuracy"] for f in folds])
    assert summary["accuracy_mean"] == pytest.approx(accuracies.mean())
    assert summary["accuracy_se"] == pytest.approx(accuracies.std(ddof=1) / np.sqrt(10))
    assert summary["n_impostor_pooled"] == 3000 and 0.8 < summary["tar_at_far_1pct_pooled"] <= 1
    assert summary["mean_roc"]["tar"][-1] == 1.0 and len(summary["mean_roc"]["far"]) == len(summary["mean_roc"]["tar"])
