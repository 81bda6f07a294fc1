import re

import numpy as np
import pytest

from metrickit.datasets import load_bundled, load_features, load_labels, load_split
from metrickit.exceptions import DatasetNotFoundError


def test_bundled_sets_have_their_known_shapes():
    assert load_bundled("iris")[0].shape == (150, 4)
    assert load_bundled("wine")[0].shape == (178, 13)
    assert load_bundled("digits")[0].shape == (1797, 64)


def test_csv_with_header_and_label_column(tmp_path):
    path = tmp_path / "data.csv"
    path.write_text("a,b,label\n1,2,0\n3,4,1\n5,6,1\n")
    X, y = load_features(path, label_column=-1)
    np.testing.assert_array_equal(X, [[1, 2], [3, 4], [5, 6]])
    np.testing.assert_array_equal(y, [0, 1, 1])


def test_npy_features_with_text_labels(tmp_path):
    np.save(tmp_path / "X.npy", np.arange(12.0).reshape(6, 2))
    (tmp_path / "y.txt").write_text("cat\ndog\ncat\ndog\ncat\ndog\n")
    split = load_split(features=tmp_path / "X.npy", labels=tmp_path / "y.txt", test_size=0.5, seed=0)
    assert split.X_train.shape == (3, 2) and split.X_test.shape == (3, 2)
    assert set(split.y_train) == {"cat", "dog"}


def test_missing_and_malformed_files_are_named(tmp_path):
    with pytest.raises(DatasetNotFoundError, match=re.escape(f"Features file {tmp_path / 'nope.npy'} does not exist.")):
        load_features(tmp_path / "nope.npy")
    bad = tmp_path / "bad.csv"
    bad.write_text("1,2\n3,x\n")
    with pytest.raises(ValueError, match=re.escape(f"Could not read {bad} as a numeric CSV")):
        load_features(bad)
    np.save(tmp_path / "y2.npy", np.zeros((2, 2)))
    with pytest.raises(ValueError, match="must be 1-D"):
        load_labels(tmp_path / "y2.npy")


def test_label_count_must_match_rows(tmp_path):
    np.save(tmp_path / "X.npy", np.zeros((4, 2)))
    np.save(tmp_path / "y.npy", np.zeros(3))
    with pytest.raises(ValueError, match=re.escape("`labels` has 3 entries but `features` has 4 rows.")):
        load_split(features=tmp_path / "X.npy", labels=tmp_path / "y.npy")


def test_missing_data_dir_names_the_folder(tmp_path):
    with pytest.raises(DatasetNotFoundError, match=re.escape(f"Dataset folder 'mnist/' not found; tried {tmp_path / 'mnist'}.")):
        load_split(data="mnist", data_dir=tmp_path)
