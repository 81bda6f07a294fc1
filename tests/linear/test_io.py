import re

import numpy as np
import pytest

from metrickit.linear import LMNN, LinearMetricModel, load_model, model_from_lmnn, save_model


@pytest.fixture
def fitted(rng):
    X = rng.normal(size=(40, 3))
    y = np.arange(40) % 2
    return LMNN(max_iter=20, tol=1e-3).fit(X, y), X


def test_round_trip_keeps_components_preprocessing_and_metadata(tmp_path, fitted):
    lmnn, X = fitted
    model = model_from_lmnn(lmnn, mean=X.mean(0), scale=X.std(0), projection=None)
    path = save_model(model, tmp_path / "m.npz")
    loaded = load_model(path)
    np.testing.assert_array_equal(loaded.components, lmnn.components_)
    np.testing.assert_allclose(loaded.transform(X), ((X - X.mean(0)) / X.std(0)) @ lmnn.components_.T)
    assert loaded.metadata["estimator"] == "LMNN"
    assert loaded.metadata["params"]["n_neighbors"] == 3
    assert loaded.metadata["objective"] == pytest.approx(lmnn.objective_)


def test_model_files_hold_no_pickles(tmp_path, fitted):
    lmnn, _ = fitted
    path = save_model(model_from_lmnn(lmnn), tmp_path / "m.npz")
    with np.load(path, allow_pickle=False) as data:  # raises if any member needs pickle
        assert set(data.files) == {"components", "metadata_json"}


def test_existing_file_is_not_overwritten_without_permission(tmp_path, fitted):
    lmnn, _ = fitted
    path = tmp_path / "m.npz"
    path.write_bytes(b"precious")
    with pytest.raises(FileExistsError, match="already exists; pass overwrite=True"):
        save_model(model_from_lmnn(lmnn), path)
    assert path.read_bytes() == b"precious"
    save_model(model_from_lmnn(lmnn), path, overwrite=True)
    assert load_model(path).components.shape == (3, 3)
    assert [p.name for p in tmp_path.iterdir()] == ["m.npz"]  # no temporary files left behind


def test_corrupt_and_foreign_files_give_clear_errors(tmp_path):
    corrupt = tmp_path / "corrupt.npz"
    corrupt.write_bytes(b"PK\x03\x04 not really a zip")
    with pytest.raises(ValueError, match=re.escape(f"Model file {corrupt} is corrupt or not a metrickit model")):
        load_model(corrupt)
    foreign = tmp_path / "foreign.npz"
    np.savez(foreign, weights=np.ones(3))
    with pytest.raises(ValueError, match="is not a metrickit linear model"):
        load_model(foreign)
    with pytest.raises(FileNotFoundError, match="does not exist"):
        load_model(tmp_path / "missing.npz")


def test_wrong_suffix_is_refused(tmp_path):
    with pytest.raises(ValueError, match=re.escape("Model files end in .npz")):
        save_model(LinearMetricModel(np.eye(2)), tmp_path / "m.pkl")
