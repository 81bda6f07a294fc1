import numpy as np
import pytest

from metrickit.datasets.identities import load_svc2004
from metrickit.models.artifact import load_deep_model, save_deep_model
from metrickit.verification import VerifyConfig, evaluate_fold, make_folds, signature_user_eers, summarize, train_fold
from metrickit.verification.folds import FOLDS
from tests._fakes import fake_svc2004

QUICK = dict(epochs=2, batches_per_epoch=3, n_classes_per_batch=4, n_per_class=3, embedding_dim=16)


@pytest.mark.filterwarnings("ignore:LMNN did not converge")  # the fake faces separate perfectly: the objective falls to 0
@pytest.mark.parametrize("method", ["euclidean", "lmnn", "softmax", "triplet", "arcface", "supcon"])
def test_each_method_calibrates_on_validation_identities_and_is_scored_on_unseen_ones(orl, method, tmp_path):
    fold = make_folds(orl.labels, *FOLDS["orl"])[0]
    model, record = train_fold(orl, fold, VerifyConfig.from_flat(method=method, pca_candidates=(4, 8), **QUICK))
    assert record["val"]["n_genuine"] == 5 * 45 and record["val"]["n_impostor"] == 50 * 49 // 2 - 225
    assert model.threshold == record["threshold"] == pytest.approx(record["val"]["eer_threshold"])
    assert model.info["split"]["test"] == fold.test and set(model.training_classes) == set(fold.fit)
    save_deep_model(model, tmp_path / "m.safetensors")
    result = evaluate_fold(load_deep_model(tmp_path / "m.safetensors"), orl)
    assert result["test_identities"] == fold.test and result["report"]["threshold"] == model.threshold
    assert len(result["distances"]["genuine"]) == 225 and len(result["distances"]["impostor"]) == 1000
    # 1,000 impostor pairs resolve FAR 1% (>= 10 / 0.01) but not 0.1% (which needs 10,000)
    assert result["report"]["tar_at_far"]["1%"] is not None and result["report"]["tar_at_far"]["0.1%"] is None
    if method == "lmnn":
        assert record["pca"] in (4, 8) and [c["pca"] for c in record["pca_candidates"]] == [4, 8]
    if method not in ("euclidean", "lmnn"):
        assert record["best_epoch"] >= 1 and "val_roc_auc" in record["history"][0]


def test_signature_folds_pair_genuine_with_forgeries_and_score_users_svc_style(tmp_path):
    fake_svc2004(tmp_path)
    data = load_svc2004(tmp_path)
    fold = make_folds(data.labels, *FOLDS["svc2004"])[0]
    model, _ = train_fold(data, fold, VerifyConfig(method="euclidean"))
    result = evaluate_fold(model, data)
    # per test user: C(20, 2) genuine-genuine pairs and 20 x 20 genuine-forgery pairs
    assert len(result["distances"]["genuine"]) == 10 * 190 and len(result["distances"]["impostor"]) == 10 * 400
    users = result["per_user"]["users"]
    assert len(users) == 10 and {(u["n_genuine"], u["n_skilled"], u["n_random"]) for u in users} == {(10, 20, 9 * 20)}
    # the fake forgeries come from other writers, so pixels separate them: the per-user skilled EER is low
    assert result["per_user"]["mean_eer_skilled"] < 0.2


def test_per_user_eer_against_a_hand_made_embedding():
    from metrickit.datasets.labeled import LabeledSet

    samples = np.tile(np.arange(1, 41), 2)
    identities = np.repeat(["user1", "user2"], 40)
    forged = samples > 20
    # user1: references at 0, genuine tests at 1, skilled forgeries at 3 -> separable; user2 far away at 100
    x = np.where(np.isin(samples, range(1, 6)), 0.0, np.where(forged, 3.0, 1.0)) + np.where(identities == "user2", 100.0, 0.0)
    data = LabeledSet(np.zeros((80, 1, 1, 1), np.uint8), identities, None, [], {"forged": forged, "sample": samples}, "toy", prepared=False)
    eers = signature_user_eers(x[:, None], data)
    assert eers["mean_eer_skilled"] == 0.0 and eers["mean_eer_random"] == 0.0
    assert [u["n_random"] for u in eers["users"]] == [20, 20]


def test_summary_is_mean_and_sd_over_folds():
    reports = [{"report": {"roc_auc": a, "eer": e, "accuracy": 0.9, "balanced_accuracy": 0.9, "tar": 0.9, "far": 0.1,
                           "tar_at_far": {"1%": t, "0.1%": None}}} for a, e, t in ((0.9, 0.1, 0.5), (0.8, 0.3, 0.7))]
    summary = summarize(reports)
    assert summary["roc_auc"]["mean"] == pytest.approx(0.85) and summary["eer"]["sd"] == pytest.approx(np.std([0.1, 0.3], ddof=1))
    assert summary["tar_at_far"]["1%"]["mean"] == pytest.approx(0.6) and summary["tar_at_far"]["0.1%"] is None
    assert summary["n_folds"] == 2


def test_bad_config_is_refused():
    with pytest.raises(ValueError, match="`method` must be one of 'euclidean', 'lmnn', 'triplet', 'contrastive', 'softmax', 'arcface', .*; got 'svm'"):
        VerifyConfig(method="svm")
    assert VerifyConfig(method="contrastive").objective.margin_value == 1.0 and VerifyConfig(method="triplet").objective.margin_value == 0.2
    assert VerifyConfig.from_flat(method="contrastive").objective.loss == "contrastive"
