import json

import numpy as np
import pytest
import torch

from metrickit.cli.app import main
from metrickit.datasets.trajectories import parse_svc_text, read_trajectory
from metrickit.signatures.embedder import SequenceEmbedder
from metrickit.signatures.model import SignatureModel, is_signature_model, load_signature_model
from tests._fakes import fake_svc2004_online

CHANNELS = ("x", "y", "t", "stroke_start", "pressure", "azimuth", "altitude")


def test_train_eval_and_predict_through_the_cli(tmp_path, capsys):
    fake_svc2004_online(tmp_path)
    out = tmp_path / "run"
    common = ["--data-dir", str(tmp_path), "--json", "-q"]
    assert main(["verify", "train", "--dataset", "svc2004-online", "--method", "dtw-lmnn", "--out", str(out), *common]) == 0
    results = json.loads(capsys.readouterr().out)
    assert sorted(p.name for p in out.iterdir()) == ["final", "fold0", "fold1", "fold2", "results.json"]
    for fold in results["repeats"]:
        assert not set(fold["training_writers"]) & (set(fold["test_writers"]) | set(fold["validation_writers"]))
        assert fold["chosen"] in fold["validation_eer_skilled"] and len(fold["per_trial"]) == 10
    assert results["final"]["test_writers"] == [] and len(results["final"]["validation_writers"]) == 5
    model = load_signature_model(out)
    assert model.method == "dtw-lmnn" and model.threshold is not None and model.transform.shape == (15, 15)
    assert is_signature_model(out / "fold0" / "model.safetensors")

    assert main(["verify", "eval", "--model", str(out), *common]) == 0
    evaluated = json.loads(capsys.readouterr().out)
    assert [f["fold"] for f in evaluated["folds"]] == [0, 1, 2]
    assert evaluated["summary"]["eer_skilled"]["mean"] == pytest.approx(results["summary"]["eer_skilled"]["mean"])

    import zipfile

    with zipfile.ZipFile(tmp_path / "svc2004_online" / "svc2004_task2_users1-30.zip") as archive:
        for name in ("U1S1", "U1S2", "U1S3", "U1S15", "U1S30"):
            (tmp_path / f"{name}.TXT").write_bytes(archive.read(f"SVC2004/Task2/{name}.TXT"))
    enrol = [str(tmp_path / f"U1S{s}.TXT") for s in (1, 2, 3)]
    assert main(["verify", "predict", "--model", str(out), "--enrol", *enrol, "--probe", str(tmp_path / "U1S15.TXT"),
                 str(tmp_path / "U1S30.TXT"), "--out", str(tmp_path / "p.csv"), "--json"]) == 0
    predicted = json.loads(capsys.readouterr().out)["predictions"]
    assert [row["probe"].endswith(name) for row, name in zip(predicted, ("U1S15.TXT", "U1S30.TXT"))] == [True, True]
    assert predicted[0]["score"] < predicted[1]["score"] and (tmp_path / "p.csv").read_text().startswith("probe,score,threshold,genuine")


def test_methods_and_datasets_must_match_and_a_model_never_scores_its_own_writers(tmp_path, capsys):
    assert main(["verify", "train", "--dataset", "orl", "--method", "dtw", "--out", str(tmp_path / "x"), "-q"]) == 1
    assert "--dataset svc2004-online takes --method dtw | dtw-lmnn | embedder" in capsys.readouterr().err
    fake_svc2004_online(tmp_path)
    model = SignatureModel("dtw", 20, CHANNELS, threshold=1.0, info={"training_writers": ["user1"], "validation_writers": [],
                                                                     "test_writers": ["user1", "user2"]})
    model.save(tmp_path / "leaky.safetensors")
    assert main(["verify", "eval", "--model", str(tmp_path / "leaky.safetensors"), "--data-dir", str(tmp_path)]) == 1
    assert "trained or validated on ['user1'], its own test writers" in capsys.readouterr().err


def test_an_embedder_model_survives_saving_and_a_task1_file_is_refused(tmp_path):
    torch.manual_seed(0)
    embedder = SequenceEmbedder(15, embedding_dim=8).eval()
    model = SignatureModel("embedder", 20, CHANNELS, embedder=embedder, threshold=0.7, info={"setting": "triplet"})
    model.save(tmp_path / "m.safetensors")
    loaded = load_signature_model(tmp_path / "m.safetensors")
    rows = [[1000 + 30 * k, 2000 + 20 * (k % 7), 10 * k, int(k == 0), 900, 600, 300 + k] for k in range(30)]
    trajectory = parse_svc_text("\n".join(["30", *(" ".join(map(str, r)) for r in rows)]), "a.TXT")
    other = parse_svc_text("\n".join(["30", *(" ".join(map(str, [r[0] + 5 * (k % 3), *r[1:]])) for k, r in enumerate(rows))]), "b.TXT")
    np.testing.assert_allclose(loaded.score([trajectory], [trajectory, other]), model.score([trajectory], [trajectory, other]), rtol=1e-6)
    assert loaded.threshold == 0.7 and loaded.info["setting"] == "triplet"
    task1 = tmp_path / "t1.TXT"
    task1.write_text("\n".join(["3", "1 2 0 0", "2 3 10 1", "3 4 20 1"]) + "\n")
    with pytest.raises(ValueError, match="was trained on x, y, t, stroke_start, pressure, azimuth, altitude"):
        loaded.score([read_trajectory(task1)], [trajectory, other])
    (tmp_path / "bad.safetensors").write_bytes(b"not a model")
    with pytest.raises(ValueError, match="bad.safetensors is not a readable safetensors signature model"):
        load_signature_model(tmp_path / "bad.safetensors")
