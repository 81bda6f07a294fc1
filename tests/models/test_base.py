"""Every saved metric, deep, linear or Euclidean, loads through one function and offers one interface."""

import numpy as np
import pytest

from metrickit.datasets.labeled import Preprocessing
from metrickit.linear import LMNN, model_from_lmnn, save_model
from metrickit.models.base import EuclideanModel, MetricModel, load_model


@pytest.fixture
def linear_file(rng, tmp_path):
    X = rng.normal(size=(60, 4)) * [1.0, 5.0, 0.2, 3.0]
    y = np.arange(60) % 3
    lmnn = LMNN(max_iter=20).fit((X - X.mean(0)) / X.std(0), y)
    model = model_from_lmnn(lmnn, mean=X.mean(0), scale=X.std(0))
    return save_model(model, tmp_path / "lmnn.npz"), X, y


def test_an_lmnn_file_is_a_metric_model_that_embeds_like_its_transform(linear_file):
    path, X, _ = linear_file
    model = load_model(path)
    assert isinstance(model, MetricModel)
    assert model.name == "lmnn" and model.threshold is None and model.training_classes == [0, 1, 2]
    np.testing.assert_array_equal(model.embed(X), model.transform(X))
    np.testing.assert_array_equal(model.embed_prepared(model.preprocessing.apply(X)), model.transform(X.astype(np.float32)))
    with pytest.raises(ValueError, match="expects features inputs of shape 4"):
        model.embed(X[:, :3])


def test_a_linear_model_fitted_on_mnist_pixels_scales_raw_images_as_its_fit_did(linear_file):
    path, X, _ = linear_file
    model = load_model(path)
    model.metadata["data"] = {"pixel_scale": "1/255"}
    raw = np.arange(8, dtype=np.uint8).reshape(2, 2, 2)  # two "images" of 4 pixels
    model.mean = model.scale = None
    np.testing.assert_allclose(model.embed(raw), (raw.reshape(2, 4) / 255.0) @ model.components.T)


def test_the_euclidean_model_is_the_prepared_input_flattened():
    prep = Preprocessing("image", (1, 2, 2), scale=0.5, mean=1.0, std=2.0)
    raw = np.arange(8.0).reshape(2, 1, 2, 2)
    model = EuclideanModel(prep)
    assert isinstance(model, MetricModel) and model.name == "euclidean"
    np.testing.assert_allclose(model.embed(raw), ((raw * 0.5 - 1.0) / 2.0).reshape(2, 4))


def test_load_model_names_what_it_expected(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        load_model(tmp_path / "missing.npz")
    (tmp_path / "weights.pt").write_bytes(b"x")
    with pytest.raises(ValueError, match=r"must end in \.safetensors or \.npz"):
        load_model(tmp_path / "weights.pt")
    (tmp_path / "bad.npz").write_bytes(b"not a zip")
    with pytest.raises(ValueError, match="bad.npz is corrupt"):
        load_model(tmp_path / "bad.npz")
    with pytest.raises(FileNotFoundError, match="holds no final model"):
        load_model(tmp_path)


def test_a_run_folder_loads_its_final_model_and_a_deep_model_offers_the_same_interface(tmp_path):
    from metrickit.models.artifact import save_deep_model
    from tests.models.test_artifact import _model

    save_deep_model(_model(), tmp_path / "run" / "final" / "model.safetensors")
    model = load_model(tmp_path / "run")
    assert isinstance(model, MetricModel) and model.name == "conv4" and model.threshold == 0.75
    raw = np.random.default_rng(0).integers(0, 256, (3, 28, 28), dtype=np.uint8)
    np.testing.assert_array_equal(model.embed(raw), model.embed_prepared(model.preprocessing.apply(raw)))


def test_evaluate_and_embed_take_an_lmnn_file(linear_file, tmp_path):
    from metrickit.evaluation.models import embed_path, evaluate_model

    path, X, y = linear_file
    np.savez(tmp_path / "features.npz", X=X, y=y)
    report = evaluate_model(path, str(tmp_path / "features.npz"), n_neighbors=3, backend="exact")
    baseline = evaluate_model(None, str(tmp_path / "features.npz"), n_neighbors=3, backend="exact")
    assert report["model"] == str(path) and baseline["model"] == "euclidean"
    assert report["classes_seen_in_training"] == [0, 1, 2] and baseline["classes_seen_in_training"] == []
    assert 0 <= report["map_at_r"] <= 1 and report["map_at_r"] != baseline["map_at_r"]
    out = embed_path(tmp_path / "features.npz", path)
    np.testing.assert_array_equal(out["embeddings"], load_model(path).transform(X))
    np.testing.assert_array_equal(out["labels"], y)
