import json

import numpy as np
import pytest
import torch

from metrickit.cli.app import main
from metrickit.datasets.reid import load_market1501_subset
from metrickit.models.artifact import load_deep_model
from metrickit.reid import ReidConfig, split_persons, train_split
from tests._fakes import fake_market

QUICK = dict(epochs=2, batches_per_epoch=2, n_classes_per_batch=4, n_per_class=4, embedding_dim=8, n_test=10, n_val=4)


@pytest.fixture(scope="module")
def market(tmp_path_factory):
    root = tmp_path_factory.mktemp("market")
    fake_market(root)
    return root


def test_person_splits_are_disjoint_and_seeded():
    split = split_persons(range(1, 101), seed=3)
    assert (len(split.test), len(split.val), len(split.fit)) == (50, 10, 40)
    assert not (set(split.test) & set(split.val)) and not (set(split.test) | set(split.val)) & set(split.fit)
    assert split_persons(range(1, 101), seed=3) == split and split_persons(range(1, 101), seed=4) != split
    with pytest.raises(ValueError, match=r"must leave at least 2 of the 12 persons"):
        split_persons(range(12), seed=0, n_test=5, n_val=6)


@pytest.mark.parametrize("method", ["euclidean", "lmnn", "softmax", "triplet", "cosface", "proxy-anchor"])
def test_every_method_trains_on_its_persons_only(market, method):
    data = load_market1501_subset(market)
    split = split_persons(data.labels, 0, n_test=10, n_val=4)
    model, record = train_split(data, split, ReidConfig.from_flat(method=method, pca_candidates=(4, 8), **QUICK))
    assert sorted(model.training_classes) == split.fit and model.info["split"]["test"] == split.test
    assert 0 < record["val_map"] <= 1
    embeddings = model.embed(data.X[:3])
    assert embeddings.shape[0] == 3 and np.isfinite(embeddings).all()
    if method == "lmnn":
        assert model.embedder.name == "histogram" and record["pca"] in (4, 8)
        # the stored embedder is the fitted map: histograms, then weight @ h + bias
        histograms = model.embedder.histograms(torch.from_numpy(model.preprocessing.apply(data.X[:3]))).numpy()
        projected = histograms @ model.embedder.head.weight.detach().numpy().T + model.embedder.head.bias.detach().numpy()
        np.testing.assert_allclose(embeddings, projected, rtol=1e-5, atol=1e-5)
    if method not in ("euclidean", "lmnn"):
        assert "val_map" in record["history"][0] and record["best_epoch"] >= 1


def test_cli_train_then_eval_with_reranking(market, tmp_path, capsys):
    quick = ["--epochs", "1", "--batches-per-epoch", "2", "--n-classes-per-batch", "4", "--n-per-class", "4", "--embedding-dim", "8",
             "--n-test", "10", "--n-val", "4", "--threads", "1", "-q"]
    for method in ("euclidean", "triplet"):
        assert main(["reid", "train", "--method", method, "--seeds", "0,1", "--data-dir", str(market), "--out", str(tmp_path / method), *quick]) == 0
    assert (tmp_path / "triplet" / "seed1" / "model.safetensors").is_file()
    final = load_deep_model(tmp_path / "triplet" / "final" / "model.safetensors")
    split = final.info["split"]
    assert split["test"] == [] and len(split["val"]) == 4 and len(split["fit"]) == 20 and sorted(final.training_classes) == split["fit"]
    capsys.readouterr()
    assert main(["reid", "eval", "--model", str(tmp_path / "triplet" / "final" / "model.safetensors"), "--data-dir", str(market)]) == 1
    assert "is a final model" in capsys.readouterr().err
    out = tmp_path / "report"
    assert main(["reid", "eval", "--model", str(tmp_path / "euclidean"), "--model", f"bh={tmp_path / 'triplet'}", "--rerank",
                 "--data-dir", str(market), "--out", str(out), "--json"]) == 0
    results = json.loads(capsys.readouterr().out)
    entry = results["methods"]["bh"]
    assert [r["seed"] for r in entry["repeats"]] == [0, 1] and set(entry["summary"]) == {"plain", "reranked"}
    # 10 test persons x 3 cameras: 30 queries, 60 gallery images
    assert entry["repeats"][0]["plain"]["n_queries"] == 30 and entry["repeats"][0]["n_gallery"] == 60
    assert sorted(p.name for p in out.iterdir()) == ["cmc.png", "projection.png", "results.json"]
    assert main(["reid", "eval", "--model", str(tmp_path / "nowhere"), "--data-dir", str(market)]) == 1
    assert "holds no seed models" in capsys.readouterr().err


def test_eval_refuses_a_split_whose_test_persons_were_trained_on(market, tmp_path, capsys):
    from metrickit.models.artifact import save_deep_model

    data = load_market1501_subset(market)
    split = split_persons(data.labels, 0, n_test=10, n_val=4)
    model, _ = train_split(data, split, ReidConfig.from_flat(method="euclidean", **QUICK))
    model.info["split"]["test"] = [*split.test[1:], split.fit[0]]  # a tampered record
    save_deep_model(model, tmp_path / "leaky.safetensors")
    assert main(["reid", "eval", "--model", str(tmp_path / "leaky.safetensors"), "--data-dir", str(market)]) == 1
    assert f"its test persons [{split.fit[0]}] were among its training or validation persons" in capsys.readouterr().err
