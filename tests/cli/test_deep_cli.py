import json

import numpy as np
import pytest
from PIL import Image

from metrickit.cli.app import main

TRAIN = ["train", "--dataset", "digits", "--architecture", "mlp", "--embedding-dim", "8", "--epochs", "2",
         "--batches-per-epoch", "5", "--n-val-classes", "2", "--margin", "0.5", "--threads", "1", "-q"]


def test_train_evaluate_and_resume(tmp_path, capsys):
    out = tmp_path / "run"
    assert main([*TRAIN, "--out", str(out), "--json"]) == 0
    results = json.loads(capsys.readouterr().out)
    assert sorted(p.name for p in out.iterdir()) == ["checkpoint.safetensors", "model.safetensors", "results.json", "training_curve.png"]
    assert results["classes"]["test"] == [6, 7, 8, 9] and len(results["history"]) == 2
    assert main(["evaluate", "--model", str(out / "model.safetensors"), "--dataset", "digits", "--classes", "6,7,8,9", "--json"]) == 0
    evaluated = json.loads(capsys.readouterr().out)
    assert evaluated["map_at_r"] == pytest.approx(results["test"]["map_at_r"], abs=1e-9)
    assert evaluated["classes_seen_in_training"] == []
    assert main([*TRAIN, "--out", str(out)]) == 1  # never into a non-empty folder without a flag
    assert "already exists and is not empty" in capsys.readouterr().err
    assert main([*TRAIN, "--out", str(out), "--resume"]) == 0  # already complete: resumes at epoch 2 of 2


def test_config_file_with_flags_on_top(tmp_path, capsys):
    config = tmp_path / "c.yaml"
    config.write_text("dataset: digits\narchitecture: mlp\nembedding_dim: 4\nepochs: 1\nbatches_per_epoch: 3\nn_val_classes: 0\n")
    assert main(["train", "--config", str(config), "--embedding-dim", "6", "--out", str(tmp_path / "r"), "--json", "-q"]) == 0
    assert json.loads(capsys.readouterr().out)["config"]["embedder"]["embedding_dim"] == 6
    config.write_text("epochz: 1\n")
    assert main(["train", "--config", str(config), "--out", str(tmp_path / "r2"), "-q"]) == 1
    assert "unknown setting(s) 'epochz' for TrainConfig" in capsys.readouterr().err


def test_embed_a_folder_of_unseen_images(tmp_path, capsys):
    out = tmp_path / "run"
    config = ["train", "--dataset", "digits", "--architecture", "conv4", "--embedding-dim", "8", "--epochs", "1",
              "--batches-per-epoch", "2", "--n-val-classes", "0", "--out", str(out), "-q"]
    # digits are 8 x 8: too small for conv-4, which says so
    assert main(config) == 1
    assert "too small for four 2x2 poolings" in capsys.readouterr().err
    assert main([*TRAIN, "--out", str(out)]) == 0
    capsys.readouterr()
    folder = tmp_path / "people"
    rng = np.random.default_rng(0)
    for person in ("ann", "bob"):
        (folder / person).mkdir(parents=True)
        for i in range(3):
            Image.fromarray(rng.integers(0, 255, (8, 8), dtype=np.uint8)).save(folder / person / f"{i}.png")
    target = tmp_path / "emb.npz"
    assert main(["embed", str(folder), "--model", str(out / "model.safetensors"), "--out", str(target)]) == 0
    with np.load(target) as data:
        assert data["embeddings"].shape == (6, 8)
        assert list(data["labels"]) == ["ann"] * 3 + ["bob"] * 3
        assert data["ids"][0] == "ann/0.png"
    (folder / "bob" / "3.png").write_bytes(b"not an image")
    assert main(["embed", str(folder), "--model", str(out / "model.safetensors"), "--out", str(tmp_path / "e2.npz")]) == 1
    assert "cannot read image" in capsys.readouterr().err and not (tmp_path / "e2.npz").exists()
    Image.fromarray(np.zeros((9, 9), dtype=np.uint8)).save(folder / "bob" / "3.png")
    assert main(["embed", str(folder), "--model", str(out / "model.safetensors"), "--out", str(tmp_path / "e3.npz")]) == 1
    assert "3.png is 9x9 (width x height) but the model expects 8x8 and stores no resize" in capsys.readouterr().err


def test_bring_your_own_csv_features(tmp_path, capsys):
    rng = np.random.default_rng(0)
    y = np.repeat(np.arange(6), 20)
    table = np.column_stack([rng.normal(size=(120, 5)) + y[:, None], y])
    path = tmp_path / "mine.csv"
    np.savetxt(path, table, delimiter=",")
    run = ["train", "--dataset", str(path), "--label-column", "-1", "--architecture", "mlp", "--embedding-dim", "4",
           "--epochs", "1", "--batches-per-epoch", "3", "--n-val-classes", "0", "--n-per-class", "4", "--optimizer", "sgd",
           "--out", str(tmp_path / "r"), "--json", "-q"]
    assert main(run) == 0
    results = json.loads(capsys.readouterr().out)
    assert results["classes"] == {"fit": [0, 1, 2, 3], "validation": [], "test": [4, 5]}
    assert main(["evaluate", "--model", str(tmp_path / "r" / "model.safetensors"), "--dataset", str(path), "--label-column", "-1",
                 "--classes", "4,5", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["n_queries"] == 40
    np.save(tmp_path / "X.npy", table[:, :5])
    assert main(["train", "--dataset", str(tmp_path / "X.npy"), "--architecture", "mlp", "--out", str(tmp_path / "r2"), "-q"]) == 1
    assert "holds no labels" in capsys.readouterr().err


@pytest.fixture(scope="module")
def mlp_model(tmp_path_factory):
    """A tiny MLP trained on digits (8 x 8 inputs: 64 features)."""
    out = tmp_path_factory.mktemp("mlp")
    assert main([*TRAIN, "--out", str(out / "run")]) == 0
    return out / "run" / "model.safetensors"


def test_embed_labels_images_by_the_first_folder_below_the_root(mlp_model, tmp_path, capsys):
    rng = np.random.default_rng(1)
    for user in ("user1", "user12"):
        for kind in ("genuine", "forged"):
            (tmp_path / "sig" / user / kind).mkdir(parents=True)
            Image.fromarray(rng.integers(0, 255, (8, 8), dtype=np.uint8)).save(tmp_path / "sig" / user / kind / "x.png")
    embed = ["embed", str(tmp_path / "sig"), "--model", str(mlp_model)]
    assert main([*embed, "--out", str(tmp_path / "a.npz")]) == 0
    with np.load(tmp_path / "a.npz") as data:
        assert sorted(set(data["labels"])) == ["user1", "user12"]
    assert main([*embed, "--label-depth", "2", "--out", str(tmp_path / "b.npz")]) == 0
    with np.load(tmp_path / "b.npz") as data:
        assert "user12/genuine" in set(data["labels"])
    assert main([*embed, "--label-depth", "3", "--out", str(tmp_path / "c.npz")]) == 1
    assert "`label_depth` (3) labels images by the 3 folder(s) below" in capsys.readouterr().err
    assert main([*embed, "--label-depth", "0", "--out", str(tmp_path / "d.npz")]) == 0
    with np.load(tmp_path / "d.npz") as data:
        assert "labels" not in data


def test_embed_one_image_file(mlp_model, tmp_path, capsys):
    Image.fromarray(np.zeros((8, 8), dtype=np.uint8)).save(tmp_path / "face.png")
    assert main(["embed", str(tmp_path / "face.png"), "--model", str(mlp_model), "--out", str(tmp_path / "e.npz"), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["n"] == 1
    with np.load(tmp_path / "e.npz") as data:
        assert list(data["ids"]) == ["face.png"] and data["embeddings"].shape[0] == 1


@pytest.mark.parametrize("command", ["embed", "lmnn-transform"])
def test_non_finite_and_empty_features_are_refused_naming_file_row_and_column(mlp_model, tmp_path, capsys, command):
    X = np.random.default_rng(0).random((5, 64))
    X[3, 7] = np.inf
    np.save(tmp_path / "bad.npy", X)
    np.save(tmp_path / "empty.npy", np.zeros((0, 64)))
    model = str(mlp_model)
    if command == "lmnn-transform":
        assert main(["lmnn", "fit", "--data", "iris", "--out", str(tmp_path / "lmnn.npz"), "-q"]) == 0
        model = str(tmp_path / "lmnn.npz")
    run = (lambda f: ["embed", str(f), "--model", model, "--out", str(tmp_path / "o.npz")]) if command == "embed" else \
        (lambda f: ["lmnn", "transform", "--features", str(f), "--model", model, "--out", str(tmp_path / "o.npy")])
    assert main(run(tmp_path / "bad.npy")) == 1
    assert f"Features in {tmp_path / 'bad.npy'} must be finite: row 3, column 7 (counting from 0) is inf" in capsys.readouterr().err
    assert main(run(tmp_path / "empty.npy")) == 1
    assert "holds no features (shape (0, 64))" in capsys.readouterr().err
    assert not (tmp_path / "o.npz").exists() and not (tmp_path / "o.npy").exists()
