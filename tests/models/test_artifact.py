import numpy as np
import pytest
import torch

import metrickit
from metrickit.datasets.labeled import Preprocessing
from metrickit.models import Conv4
from metrickit.models.artifact import DeepMetricModel, save_deep_model


def _model():
    torch.manual_seed(0)
    prep = Preprocessing("image", (1, 28, 28), scale=1 / 255, mean=0.1307, std=0.3081)
    return DeepMetricModel(Conv4(embedding_dim=8).eval(), prep, threshold=0.75, training_classes=[0, 1, 2], info={"note": "test"})


def test_round_trip_keeps_weights_preprocessing_and_threshold(tmp_path):
    model = _model()
    path = save_deep_model(model, tmp_path / "m.safetensors")
    loaded = metrickit.load_model(path)
    raw = np.random.default_rng(0).integers(0, 256, (4, 28, 28), dtype=np.uint8)
    np.testing.assert_allclose(loaded.embed(raw), model.embed(raw), rtol=1e-6)
    assert loaded.threshold == 0.75 and loaded.training_classes == [0, 1, 2] and loaded.info == {"note": "test"}
    assert loaded.preprocessing == model.preprocessing


def test_never_overwrites_unless_asked(tmp_path):
    path = save_deep_model(_model(), tmp_path / "m.safetensors")
    before = path.read_bytes()
    with pytest.raises(FileExistsError, match="already exists; pass overwrite=True"):
        save_deep_model(_model(), path)
    assert path.read_bytes() == before
    save_deep_model(_model(), path, overwrite=True)


def test_corrupt_and_foreign_files_are_named(tmp_path):
    corrupt = tmp_path / "bad.safetensors"
    corrupt.write_bytes(b"\x00" * 40)
    with pytest.raises(ValueError, match="bad.safetensors is not a readable safetensors model file"):
        metrickit.load_model(corrupt)
    from safetensors.torch import save_file

    foreign = tmp_path / "foreign.safetensors"
    save_file({"w": torch.zeros(2)}, str(foreign))
    with pytest.raises(ValueError, match=r"foreign.safetensors is not a metrickit deep model \(metrickit.deep/1\)"):
        metrickit.load_model(foreign)
    with pytest.raises(FileNotFoundError, match="does not exist"):
        metrickit.load_model(tmp_path / "missing.safetensors")


def test_inputs_that_do_not_fit_the_preprocessing_are_refused():
    with pytest.raises(ValueError, match=r"expects image inputs of shape 1x28x28 \(784 values each\); got inputs of shape \(32, 32\)"):
        _model().embed(np.zeros((2, 32, 32)))
