import numpy as np
import pytest
from PIL import Image

from metrickit.datasets.labeled import Preprocessing, load_labeled, split_by_classes
from metrickit.exceptions import DatasetNotFoundError


@pytest.mark.realdata
def test_mnist_for_deep_training_is_standardised(mnist_dir):
    data = load_labeled("mnist", "test", data_dir=mnist_dir.parent)
    assert data.X.shape == (10000, 1, 28, 28) and data.X.dtype == np.float32
    assert abs(float(data.X.mean()) - (0.1325 - 0.1307) / 0.3081) < 0.01  # the test split's mean, in training-set units
    unseen = data.subset(split_by_classes(data.y, [5, 6, 7, 8, 9]))
    assert set(np.unique(unseen.y)) == {5, 6, 7, 8, 9} and len(unseen.y) == 4861


def test_folder_preprocessing_is_reused_for_new_data(tmp_path):
    rng = np.random.default_rng(0)
    for name in ("a", "b"):
        (tmp_path / name).mkdir()
        for i in range(2):
            Image.fromarray(rng.integers(0, 255, (10, 12), dtype=np.uint8)).save(tmp_path / name / f"{i}.png")
    data = load_labeled(str(tmp_path))
    assert data.X.shape == (4, 1, 10, 12) and list(data.y) == ["a", "a", "b", "b"]
    fixed = Preprocessing("image", (1, 10, 12), scale=1 / 255, mean=0.5, std=0.25)
    again = load_labeled(str(tmp_path), preprocessing=fixed)
    assert again.preprocessing == fixed and not np.allclose(again.X, data.X)


def test_features_npz_standardised_per_feature(tmp_path):
    X = np.random.default_rng(0).normal(3.0, 2.0, size=(50, 4))
    np.savez(tmp_path / "f.npz", X=X, y=np.repeat([0, 1], 25))
    data = load_labeled(str(tmp_path / "f.npz"))
    np.testing.assert_allclose(data.X.mean(0), 0.0, atol=1e-5)
    np.savez(tmp_path / "nolabels.npz", X=X)
    with pytest.raises(ValueError, match="holds no labels"):
        load_labeled(str(tmp_path / "nolabels.npz"))


def test_missing_sources_are_named(tmp_path):
    with pytest.raises(DatasetNotFoundError, match="is neither 'mnist', 'digits', an existing folder"):
        load_labeled(str(tmp_path / "nowhere"))
    (tmp_path / "empty").mkdir()
    with pytest.raises(DatasetNotFoundError, match="holds no images in class sub-folders"):
        load_labeled(str(tmp_path / "empty"))
    with pytest.raises(ValueError, match=r"class\(es\) \[11\] do not occur"):
        split_by_classes(np.array([1, 2]), [1, 11])
