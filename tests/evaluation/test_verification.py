import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.metrics import roc_auc_score

from metrickit.evaluation.verification import verification_pairs, equal_error_rate, roc_auc, roc_curve, tar_at_far, verification_report

distances = st.lists(st.integers(0, 12).map(float), min_size=1, max_size=30)


@settings(deadline=None, max_examples=60)
@given(genuine=distances, impostor=distances)
def test_auc_is_the_mann_whitney_probability_and_matches_scikit_learn(genuine, impostor):
    g, i = np.array(genuine), np.array(impostor)
    brute = ((i[None, :] > g[:, None]) + 0.5 * (i[None, :] == g[:, None])).mean()
    assert roc_auc(g, i) == pytest.approx(brute)
    if len(set(genuine) | set(impostor)) > 1:
        # scikit-learn scores similarity: negate distances, genuine = positive class
        assert roc_auc(g, i) == pytest.approx(roc_auc_score(np.r_[np.ones(len(g)), np.zeros(len(i))], -np.r_[g, i]))


@settings(deadline=None, max_examples=60)
@given(genuine=distances, impostor=distances)
def test_eer_lies_between_far_and_frr_of_the_operating_points_around_it(genuine, impostor):
    g, i = np.array(genuine), np.array(impostor)
    eer, threshold = equal_error_rate(g, i)
    far, tar, thresholds = roc_curve(g, i)
    frr = 1 - tar
    k = int(np.argmax(far >= frr))
    assert min(far[k - 1], frr[k]) - 1e-12 <= eer <= max(far[k], frr[k - 1]) + 1e-12
    assert 0 <= eer <= 1 and np.isfinite(threshold)


@settings(deadline=None, max_examples=60)
@given(genuine=distances, impostor=st.lists(st.integers(0, 12).map(float), min_size=100, max_size=150))
def test_tar_at_far_is_the_best_threshold_within_the_far(genuine, impostor):
    g, i = np.array(genuine), np.array(impostor)
    best = max(((g <= t).mean() for t in np.r_[-1.0, g, i] if (i <= t).mean() <= 0.1), default=0.0)
    assert tar_at_far(g, i, 0.1) == pytest.approx(best)


def test_a_hand_worked_example():
    genuine, impostor = np.array([0.1, 0.2, 0.3, 0.6]), np.array([0.4, 0.5, 0.7, 0.8, 0.9])
    # pairs (g, i) with i > g: 5 + 5 + 5 + 3 = 18 of 20
    assert roc_auc(genuine, impostor) == pytest.approx(0.9)
    # accept d <= 0.4: FAR 1/5 < FRR 1/4; d <= 0.5: FAR 2/5 >= FRR 1/4. The gaps FRR - FAR = .05 before and
    # FAR - FRR = .15 after give alpha = .05 / .2 = 1/4 of the way from 0.4 to 0.5
    eer, threshold = equal_error_rate(genuine, impostor)
    assert eer == pytest.approx(0.2 + 0.25 * 0.2)
    assert threshold == pytest.approx(0.4 + 0.25 * 0.1)
    report = verification_report(genuine, impostor, threshold=0.45)
    assert (report.tar, report.far) == (0.75, 0.2)
    assert report.accuracy == pytest.approx((3 + 4) / 9) and report.balanced_accuracy == pytest.approx((0.75 + 0.8) / 2)
    assert report.tar_at_far == {"1%": None, "0.1%": None}  # 5 impostor pairs cannot resolve FAR 1%
    assert (report.n_genuine, report.n_impostor) == (4, 5)


def test_pairs_of_identities_and_of_signatures_with_forgeries():
    first, second, genuine = verification_pairs(np.array(["a", "a", "b", "b", "b"]))
    assert len(first) == 10 and genuine.sum() == 1 + 3
    users = np.array([1, 1, 1, 1, 2, 2])
    forged = np.array([False, False, True, True, False, True])
    first, second, genuine = verification_pairs(users, forged)
    pairs = set(zip(first.tolist(), second.tolist(), genuine.tolist()))
    # user 1: genuine pair (0, 1); impostors (0, 2), (0, 3), (1, 2), (1, 3); user 2: impostor (4, 5); nothing across users
    assert pairs == {(0, 1, True), (0, 2, False), (0, 3, False), (1, 2, False), (1, 3, False), (4, 5, False)}


def test_bad_scores_are_refused():
    with pytest.raises(ValueError, match="`impostor` holds no pair distances"):
        roc_auc([0.1], [])
    with pytest.raises(ValueError, match="`genuine` pair distances must be finite"):
        equal_error_rate([np.nan], [1.0])
    with pytest.raises(ValueError, match=r"`far` must lie in \(0, 1\); got 1.5"):
        tar_at_far([0.1], [1.0], 1.5)
    with pytest.raises(ValueError, match="`forged` must have one flag per sample"):
        verification_pairs(np.array([1, 2]), np.array([True]))
