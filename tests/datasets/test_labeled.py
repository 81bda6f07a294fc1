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
    unseen = data.subset(split_by_classes(data.labels, [5, 6, 7, 8, 9]))
    assert set(np.unique(unseen.labels)) == {5, 6, 7, 8, 9} and len(unseen.labels) == 4861


def test_folder_preprocessing_is_reused_for_new_data(tmp_path):
    rng = np.random.default_rng(0)
    for name in ("a", "b"):
        (tmp_path / name).mkdir()
        for i in range(2):
            Image.fromarray(rng.integers(0, 255, (10, 12), dtype=np.uint8)).save(tmp_path / name / f"{i}.png")
    data = load_labeled(str(tmp_path))
    assert data.X.shape == (4, 1, 10, 12) and list(data.labels) == ["a", "a", "b", "b"]
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


class TestImagePipeline:
    def test_crop_invert_pad_and_resize_in_that_order(self, tmp_path):
        pixels = np.full((40, 100), 255, dtype=np.uint8)  # white page, 100 wide x 40 high
        pixels[10:30, 5:95] = 0  # a dark bar
        Image.fromarray(pixels).save(tmp_path / "sig.png")
        prep = Preprocessing("image", (1, 20, 20), crop=(10, 5, 20, 90), invert=True, pad_to_aspect=True, resize=True)
        image = prep.read_image(tmp_path / "sig.png")
        assert image.shape == (1, 20, 20) and image.dtype == np.uint8
        # the 90 x 20 bar, inverted to bright, padded to 90 x 90 with black and shrunk: a centred band, aspect kept
        rows = image[0].mean(1)
        assert rows[9:11].min() > 200 and rows[:6].max() < 5 and rows[-6:].max() < 5
        assert image[0, 10].min() > 200  # the full width is bright: no horizontal padding was needed

    def test_pad_to_aspect_pads_the_short_side_only(self, tmp_path):
        Image.fromarray(np.full((30, 10), 200, dtype=np.uint8)).save(tmp_path / "tall.png")
        prep = Preprocessing("image", (1, 15, 30), pad_to_aspect=True, resize=True)
        image = prep.read_image(tmp_path / "tall.png")[0]
        assert image.shape == (15, 30)
        assert image[:, 15].min() == 200 and image[:, :5].max() == 0 and image[:, -5:].max() == 0

    def test_round_trip_through_a_model_header(self):
        prep = Preprocessing("image", (1, 64, 64), scale=1 / 255, mean=0.4, std=0.2, resize=True, crop=(10, 0, 92, 92), invert=True,
                             pad_to_aspect=True, resample="lanczos")
        assert Preprocessing.from_dict(prep.as_dict()) == prep
        old = {k: v for k, v in prep.as_dict().items() if k not in ("crop", "invert", "pad_to_aspect", "resample")}
        assert Preprocessing.from_dict(old).crop is None  # model files written before these fields still load

    def test_bad_images_are_named(self, tmp_path):
        Image.fromarray(np.zeros((50, 40), dtype=np.uint8)).save(tmp_path / "small.png")
        (tmp_path / "broken.png").write_bytes(b"not an image")
        prep = Preprocessing("image", (1, 60, 60), crop=(0, 0, 60, 60))
        with pytest.raises(ValueError, match=r"small.png is 40x50 \(width x height\), too small for the model's crop of 60x60 at \(0, 0\)"):
            prep.read_image(tmp_path / "small.png")
        with pytest.raises(ValueError, match="cannot read image .*broken.png"):
            prep.read_image(tmp_path / "broken.png")
        with pytest.raises(ValueError, match="takes feature vectors"):
            Preprocessing("features", (5,)).read_image(tmp_path / "small.png")
        with pytest.raises(ValueError, match="`resample` must be one of 'bilinear', 'lanczos'; got 'cubic'"):
            Preprocessing("image", (1, 8, 8), resample="cubic")
