"""ONNX export: every architecture and LMNN models, dynamic batch, preprocessing in the metadata, parity with the
source model through onnxruntime, and use without torch."""

import json
import subprocess
import sys

import numpy as np
import pytest
import torch

from metrickit.cli.app import main
from metrickit.datasets.labeled import Preprocessing
from metrickit.models.artifact import DeepMetricModel, save_deep_model
from metrickit.models.base import load_model
from metrickit.models.embedding import build_embedder
from tests.test_runs import BLOCK_TORCH

ARCHITECTURES = {
    "conv4": (dict(in_channels=1, width=8, image_size=(28, 28), embedding_dim=16, normalize=True), Preprocessing("image", (1, 28, 28), 1 / 255, 0.1, 0.3)),
    "mlp": (dict(in_features=20, hidden=[32, 16], embedding_dim=8, normalize=False), Preprocessing("features", (20,), 1.0, 0.5, 2.0)),
    "resnet": (dict(in_channels=3, embedding_dim=16, normalize=True), Preprocessing("image", (3, 32, 16), 1 / 255)),
    "hog": (dict(image_size=(24, 32), orientations=9, cell=8, block=2, embedding_dim=6), Preprocessing("image", (1, 24, 32), 1 / 255, 0.4, 0.2)),
    "flip-average": (dict(inner="conv4", inner_config=dict(in_channels=1, width=4, image_size=(16, 16), embedding_dim=5), normalize=True),
                     Preprocessing("image", (1, 16, 16), 1 / 255, 0.1, 0.3)),
}


@pytest.mark.parametrize("architecture", sorted(ARCHITECTURES))
def test_every_architecture_exports_with_a_dynamic_batch_and_embeds_like_the_source(architecture, tmp_path, capsys):
    settings, preprocessing = ARCHITECTURES[architecture]
    torch.manual_seed(0)
    embedder = build_embedder(architecture, **settings)
    embedder.train()
    with torch.no_grad():  # BatchNorm running statistics that are not the identity
        embedder(torch.randn(16, *preprocessing.shape) * 2 + 0.5)
    model = DeepMetricModel(embedder.eval(), preprocessing, threshold=0.7, training_classes=[1, 2])
    save_deep_model(model, tmp_path / "m.safetensors")
    assert main(["export", "--model", str(tmp_path / "m.safetensors"), "--out", str(tmp_path / "m.onnx"), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["max_abs_difference"] <= 1e-4 and report["input_shape"] == ["batch", *preprocessing.shape]
    exported = load_model(tmp_path / "m.onnx")
    assert exported.threshold == 0.7 and exported.training_classes == [1, 2] and exported.preprocessing == preprocessing
    raw = np.random.default_rng(1).uniform(0, 255, size=(37, *preprocessing.shape)).astype(np.float32)
    np.testing.assert_allclose(exported.embed(raw, batch_size=10), load_model(tmp_path / "m.safetensors").embed(raw), atol=1e-4)


def test_an_lmnn_model_exports_and_embeds_without_torch(tmp_path, capsys):
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(90, 5)) * [1, 2, 3, 4, 5] + 3, np.arange(90) % 3
    np.savez(tmp_path / "data.npz", X=X, y=y)
    assert main(["lmnn", "fit", "--features", str(tmp_path / "data.npz"), "--standardize", "--out", str(tmp_path / "l.npz"), "-q"]) == 0
    capsys.readouterr()
    assert main(["export", "--model", str(tmp_path / "l.npz"), "--out", str(tmp_path / "l.onnx"), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["max_abs_difference"] <= 1e-4
    exported = load_model(tmp_path / "l.onnx")
    np.testing.assert_allclose(exported.embed(X), load_model(tmp_path / "l.npz").embed(X), atol=1e-4)
    np.save(tmp_path / "features.npy", X.astype(np.float32))
    done = subprocess.run([sys.executable, "-c", BLOCK_TORCH, "embed", str(tmp_path / "features.npy"), "--model", str(tmp_path / "l.onnx"),
                           "--out", str(tmp_path / "e.npz")], capture_output=True, text=True, timeout=300, env={"PATH": "/usr/bin:/bin"})
    assert done.returncode == 0, done.stderr[-2000:]
    np.testing.assert_allclose(np.load(tmp_path / "e.npz")["embeddings"], load_model(tmp_path / "l.npz").embed(X), atol=1e-4)


def test_export_refuses_bad_targets_and_writes_nothing(tmp_path, capsys):
    settings, preprocessing = ARCHITECTURES["mlp"]
    save_deep_model(DeepMetricModel(build_embedder("mlp", **settings).eval(), preprocessing), tmp_path / "m.safetensors")
    assert main(["export", "--model", str(tmp_path / "m.safetensors"), "--out", str(tmp_path / "m.txt")]) == 1
    assert "must end in .onnx" in capsys.readouterr().err
    (tmp_path / "taken.onnx").write_text("mine")
    assert main(["export", "--model", str(tmp_path / "m.safetensors"), "--out", str(tmp_path / "taken.onnx")]) == 1
    assert (tmp_path / "taken.onnx").read_text() == "mine"
    with pytest.raises(ValueError, match="not a readable ONNX model"):
        load_model(tmp_path / "taken.onnx")
