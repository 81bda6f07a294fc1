import csv
import json

import numpy as np
import pytest

from metrickit.cli.app import main
from metrickit.index import build_index, EmbeddingIndex


def _write_gallery(folder, n=3000, dim=16, seed=0):
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(40, dim))
    data = (centres[rng.integers(40, size=n + 100)] + 0.5 * rng.normal(size=(n + 100, dim))).astype(np.float32)
    np.save(folder / "a.npy", data[: n // 2])
    np.savez(folder / "b.npz", embeddings=data[n // 2 : n], ids=np.array([f"img{i}.png" for i in range(n - n // 2)]))
    np.save(folder / "q.npy", data[n:])
    return data


def test_build_tune_eval_and_search_from_embedding_files(tmp_path, capsys):
    data = _write_gallery(tmp_path)
    np.savez(tmp_path / "b.npz", embeddings=data[1500:3000])  # names must be on every file or none
    out = tmp_path / "idx"
    assert main(["index", "build", "--embeddings", str(tmp_path / "a.npy"), str(tmp_path / "b.npz"), "--kind", "ivf", "--nlist", "32",
                 "--out", str(out), "--json"]) == 0
    built = json.loads(capsys.readouterr().out)
    assert built["count"] == 3000 and built["kind"] == "ivf" and not built["normalized"]
    gallery = [str(tmp_path / "a.npy"), str(tmp_path / "b.npz")]
    assert main(["index", "tune", "--index", str(out), "--queries", str(tmp_path / "q.npy"), "--gallery", *gallery, "--target", "0.9",
                 "--json"]) == 0
    tuned = json.loads(capsys.readouterr().out)
    assert tuned["reached"] and tuned["recall_at_10"] >= 0.9 and tuned["effort_name"] == "nprobe"
    assert json.loads((out / "index.json").read_text())["recall"]["effort"] == tuned["effort"]
    assert main(["index", "eval", "--index", str(out), "--queries", str(tmp_path / "q.npy"), "--gallery", *gallery, "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["recall_at_10"] == pytest.approx(tuned["recall_at_10"]) and report["queries_per_second_batch"] > 0
    assert main(["index", "search", "--index", str(out), "--embeddings", str(tmp_path / "q.npy"), "-k", "5", "--out", str(tmp_path / "r.csv")]) == 0
    rows = list(csv.DictReader((tmp_path / "r.csv").open()))
    assert len(rows) == 500 and rows[0]["rank"] == "1" and set(rows[0]) == {"query", "rank", "id", "name", "label", "squared_distance"}
    assert main(["index", "build", "--embeddings", *gallery, "--out", str(out)]) == 1  # never over an index without --overwrite
    assert "already holds an index" in capsys.readouterr().err


def test_streaming_build_in_chunks_equals_building_at_once_and_keeps_names(tmp_path):
    data = _write_gallery(tmp_path)
    np.savez(tmp_path / "a.npz", embeddings=data[:1500], ids=np.array([f"a{i}" for i in range(1500)]))
    build_index(tmp_path / "chunked", embeddings=[tmp_path / "a.npz", tmp_path / "b.npz"], kind="flat", chunk_rows=256, quiet=True)
    chunked = EmbeddingIndex.load(tmp_path / "chunked")
    whole = EmbeddingIndex.build(data[:3000], kind="flat")
    assert np.array_equal(chunked.search(data[3000:3050], 10)[1], whole.search(data[3000:3050], 10)[1])
    assert list(chunked.names_of(np.array([0, 1500]))) == ["a0", "img0.png"]


def test_an_index_from_another_model_and_bad_files_are_refused(tmp_path, capsys):
    _write_gallery(tmp_path)
    rng = np.random.default_rng(0)
    for name in ("m1", "m2"):
        assert main(["lmnn", "fit", "--features", str(tmp_path / "q.npy"), "--labels", str(_labels(tmp_path, rng)), "--out",
                     str(tmp_path / f"{name}.npz"), "-q", "--seed", "0" if name == "m1" else "1"]) == 0
    capsys.readouterr()
    assert main(["index", "build", "--embeddings", str(tmp_path / "a.npy"), "--model", str(tmp_path / "m1.npz"), "--out", str(tmp_path / "i")]) == 0
    capsys.readouterr()
    assert main(["index", "search", "--index", str(tmp_path / "i"), "--embeddings", str(tmp_path / "q.npy"), "--model",
                 str(tmp_path / "m2.npz"), "--out", str(tmp_path / "r.csv")]) == 1
    assert "built from another model's embeddings" in capsys.readouterr().err
    np.save(tmp_path / "wrong.npy", np.zeros((3, 5), np.float32))
    assert main(["index", "search", "--index", str(tmp_path / "i"), "--embeddings", str(tmp_path / "wrong.npy"), "--out", str(tmp_path / "r.csv")]) == 1
    assert "queries" in capsys.readouterr().err
    assert main(["index", "search", "--index", str(tmp_path / "i"), "--embeddings", str(tmp_path / "q.npy"), "-k", "99999", "--out",
                 str(tmp_path / "r.csv")]) == 1
    assert "`k`" in capsys.readouterr().err
    assert main(["index", "build", "--embeddings", str(tmp_path / "nothing.npy"), "--out", str(tmp_path / "j")]) == 1
    assert "does not exist" in capsys.readouterr().err
    assert not (tmp_path / "j").exists()


def _labels(folder, rng):
    path = folder / "labels.txt"
    path.write_text("\n".join(str(v) for v in rng.integers(3, size=100)))
    return path


def test_images_through_a_model_into_a_flat_index_give_the_exact_top_10(tmp_path, capsys):
    import torch
    from PIL import Image

    from metrickit.datasets.labeled import Preprocessing
    from metrickit.evaluation.retrieval import nearest_references
    from metrickit.models.artifact import DeepMetricModel, save_deep_model
    from metrickit.models.embedding import build_embedder

    rng = np.random.default_rng(0)
    for folder, count in (("gallery", 60), ("queries", 8)):
        for i in range(count):
            person = tmp_path / folder / f"p{i % 6}"
            person.mkdir(parents=True, exist_ok=True)
            Image.fromarray(rng.integers(0, 256, size=(28, 28), dtype=np.uint8)).save(person / f"{i}.png")
    torch.manual_seed(0)
    model = DeepMetricModel(build_embedder("conv4", in_channels=1, width=8, image_size=(28, 28), embedding_dim=16, normalize=True).eval(),
                            Preprocessing("image", (1, 28, 28), 1 / 255))
    save_deep_model(model, tmp_path / "m.safetensors")
    assert main(["index", "build", "--images", str(tmp_path / "gallery"), "--model", str(tmp_path / "m.safetensors"), "--kind", "flat",
                 "--out", str(tmp_path / "idx"), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["normalized"]  # conv-4 here L2-normalises: searched by inner product
    assert main(["index", "search", "--index", str(tmp_path / "idx"), "--images", str(tmp_path / "queries"), "--model",
                 str(tmp_path / "m.safetensors"), "-k", "10", "--out", str(tmp_path / "hits.csv")]) == 0
    rows = list(csv.DictReader((tmp_path / "hits.csv").open()))
    from metrickit.evaluation.models import embed_path

    gallery, queries = (embed_path(tmp_path / name, tmp_path / "m.safetensors") for name in ("gallery", "queries"))
    exact, _ = nearest_references(queries["embeddings"], gallery["embeddings"], 10, backend="exact")
    position = {name: i for i, name in enumerate(gallery["ids"])}
    distances = ((queries["embeddings"][:, None, :].astype(np.float64) - gallery["embeddings"][None].astype(np.float64)) ** 2).sum(-1)
    for q, name in enumerate(queries["ids"]):
        found = [position[row["name"]] for row in rows if row["query"] == name]
        same = np.isin(found, exact[q])
        # the same top 10; where they differ, only by near-ties (an untrained conv-4 puts images close together)
        np.testing.assert_allclose(distances[q, found], distances[q, exact[q]], atol=1e-6)
        assert same.mean() >= 0.8, name
        assert {row["label"] for row in rows if row["query"] == name} <= {f"p{i}" for i in range(6)}
