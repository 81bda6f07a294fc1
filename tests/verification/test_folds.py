import pytest

from metrickit.verification.folds import final_fold, make_folds

SUBJECTS = [f"s{i}" for i in range(1, 31)]


def test_folds_partition_the_identities_and_never_train_on_test_identities():
    folds = make_folds(SUBJECTS, 6, 5, seed=0)
    assert sorted((s for f in folds for s in f.test), key=lambda s: int(s[1:])) == SUBJECTS  # each identity tested once
    for fold in folds:
        assert len(fold.test) == 5 and len(fold.val) == 5 and len(fold.fit) == 20
        assert not (set(fold.test) & set(fold.val)) and not (set(fold.test) & set(fold.fit)) and not (set(fold.val) & set(fold.fit))
    assert folds[0].test == sorted(folds[0].test, key=lambda s: int(s[1:]))  # natural order: s2 before s10
    assert make_folds(SUBJECTS, 6, 5, seed=0) == folds and make_folds(SUBJECTS, 6, 5, seed=1) != folds


def test_impossible_fold_settings_are_refused():
    with pytest.raises(ValueError, match=r"`n_folds` must lie between 2 and the number of identities \(3\); got 4"):
        make_folds(["a", "b", "c"], 4, 1)
    with pytest.raises(ValueError, match=r"`n_val` \(5\) must be at least 2 and leave at least 2 of the 6"):
        make_folds([f"u{i}" for i in range(9)], 3, 5)


def test_final_split_trains_on_every_identity_but_its_seeded_validation_ones():
    final = final_fold(SUBJECTS, 5, seed=0)
    assert final.index is None and final.test == [] and len(final.val) == 5 and len(final.fit) == 25
    assert sorted(final.val + final.fit, key=lambda s: int(s[1:])) == SUBJECTS and not set(final.val) & set(final.fit)
    assert final_fold(SUBJECTS, 5, seed=0) == final and final_fold(SUBJECTS, 5, seed=1) != final
    with pytest.raises(ValueError, match=r"`n_val` \(5\) must be at least 2 and leave at least 2 of the 6 identities"):
        final_fold([f"u{i}" for i in range(6)], 5)
