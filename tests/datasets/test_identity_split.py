import re

import numpy as np
import pytest

from metrickit.datasets.identity_split import IdentitySplit
from metrickit.datasets.labeled import LabeledSet, Preprocessing


def test_a_split_refuses_identities_in_two_parts():
    with pytest.raises(ValueError, match=re.escape("a split's test and fit identities must be disjoint; both hold ['b']")):
        IdentitySplit(0, ["a", "b"], ["c"], ["b", "d"])


def test_labels_and_older_fold_records():
    assert IdentitySplit(0, ["a"], ["b"], ["c"], index=2).label == "fold 2"
    assert IdentitySplit(7, ["a"], ["b"], ["c"]).label == "seed 7" and IdentitySplit(7, [], ["b"], ["c"]).label == "final"
    old = {"index": 1, "test": ["a"], "val": ["b"], "fit": ["c"]}  # a model file's 'fold' record, before seeds were kept
    assert IdentitySplit.from_dict(old) == IdentitySplit(0, ["a"], ["b"], ["c"], 1)
    split = IdentitySplit(3, ["a"], ["b"], ["c"], 0)
    assert IdentitySplit.from_dict(split.as_dict()) == split


def test_one_labelled_set_carries_its_extras_through_subsets():
    data = LabeledSet(np.arange(6)[:, None], np.array([1, 1, 2, 2, 3, 3]), Preprocessing("features", (1,)), [f"f{i}" for i in range(6)],
                      {"camera": np.array([1, 2, 1, 2, 1, 2])}, "toy", prepared=False)
    part = data.of([2, 3])
    assert part.labels.tolist() == [2, 2, 3, 3] and part.extra["camera"].tolist() == [1, 2, 1, 2] and part.ids == ["f2", "f3", "f4", "f5"]
    assert part.name == "toy" and not part.prepared
    with pytest.raises(ValueError, match=re.escape("label(s) [9] do not occur in toy.")):
        data.of([1, 9])
