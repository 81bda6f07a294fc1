import json
import zipfile

import numpy as np
import pytest
from PIL import Image

from metrickit.cli.app import main
from metrickit.models.artifact import load_deep_model
from tests._fakes import fake_orl

QUICK = ["--epochs", "1", "--batches-per-epoch", "2", "--n-classes-per-batch", "4", "--n-per-class", "3", "--embedding-dim", "8",
         "--threads", "1", "-q"]


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A fake ORL folder with euclidean and triplet runs on fold 0."""
    root = tmp_path_factory.mktemp("verify")
    fake_orl(root / "data")
    for method in ("euclidean", "triplet"):
        assert main(["verify", "train", "--dataset", "orl", "--method", method, "--folds", "0", "--data-dir", str(root / "data"),
                     "--out", str(root / method), *QUICK]) == 0
    return root


def test_train_writes_fold_models_and_eval_reports_unseen_identities(trained, capsys):
    capsys.readouterr()
    results = json.loads((trained / "triplet" / "results.json").read_text())
    assert [f["split"]["index"] for f in results["repeats"]] == [0] and (trained / "triplet" / "fold0" / "model.safetensors").is_file()
    assert (trained / "triplet" / "fold0" / "training_curve.png").is_file()
    final = load_deep_model(trained / "triplet" / "final" / "model.safetensors")
    assert final.info["final"] and final.info["split"]["test"] == [] and len(final.info["split"]["val"]) == 5
    assert sorted(final.training_classes) == sorted(final.info["split"]["fit"]) and len(final.info["split"]["fit"]) == 25
    assert results["final"]["threshold"] == final.threshold
    out = trained / "report"
    assert main(["verify", "eval", "--model", f"pixels={trained / 'euclidean'}", "--model", str(trained / "triplet"),
                 "--data-dir", str(trained / "data"), "--out", str(out), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert set(report["methods"]) == {"pixels", "triplet"} and report["dataset"] == "orl"
    fold = report["methods"]["triplet"]["repeats"][0]
    assert fold["report"]["n_genuine"] == 225 and fold["report"]["n_impostor"] == 1000
    assert fold["test_identities"] == results["repeats"][0]["split"]["test"]
    assert sorted(p.name for p in out.iterdir()) == ["distances.png", "projection.png", "results.json", "roc.png"]
    assert main(["verify", "eval", "--model", str(trained / "triplet" / "final" / "model.safetensors"), "--data-dir", str(trained / "data")]) == 1
    assert "this is a final model" in capsys.readouterr().err


def test_predict_two_images_and_a_pairs_file(trained, tmp_path, capsys):
    with zipfile.ZipFile(trained / "data" / "orl_faces" / "att_faces_s1-s30.zip") as archive:
        for name in ("s1/1", "s1/2", "s2/1"):
            (tmp_path / f"{name.replace('/', '_')}.pgm").write_bytes(archive.read(f"att_faces/{name}.pgm"))
    model = str(trained / "euclidean")  # a run folder: its final model
    capsys.readouterr()
    assert main(["verify", "predict", str(tmp_path / "s1_1.pgm"), str(tmp_path / "s1_2.pgm"), "--model", model, "--json"]) == 0
    (row,) = json.loads(capsys.readouterr().out)["pairs"]
    assert row["distance"] > 0 and isinstance(row["same"], bool)
    (tmp_path / "pairs.csv").write_text("first,second\ns1_1.pgm,s1_2.pgm\ns1_1.pgm,s2_1.pgm\n")
    out = tmp_path / "scored.csv"
    assert main(["verify", "predict", "--pairs", str(tmp_path / "pairs.csv"), "--model", model, "--out", str(out)]) == 0
    lines = out.read_text().splitlines()
    assert lines[0] == "first,second,distance,same" and len(lines) == 3
    assert float(lines[1].split(",")[2]) == pytest.approx(row["distance"], rel=1e-5)
    assert main(["verify", "predict", "--pairs", str(tmp_path / "pairs.csv"), "--model", model, "--out", str(out)]) == 1  # no overwrite
    assert "already exists" in capsys.readouterr().err


def test_predict_refuses_unreadable_and_wrong_sized_images(trained, tmp_path, capsys):
    model = str(trained / "euclidean" / "fold0" / "model.safetensors")
    Image.fromarray(np.zeros((50, 40), dtype=np.uint8)).save(tmp_path / "small.png")
    (tmp_path / "broken.png").write_bytes(b"not an image")
    capsys.readouterr()
    assert main(["verify", "predict", str(tmp_path / "small.png"), str(tmp_path / "small.png"), "--model", model]) == 1
    assert "small.png is 40x50 (width x height), too small for the model's crop of 92x92" in capsys.readouterr().err
    assert main(["verify", "predict", str(tmp_path / "broken.png"), str(tmp_path / "small.png"), "--model", model]) == 1
    assert "cannot read image" in capsys.readouterr().err
    assert main(["verify", "predict", str(tmp_path / "small.png"), "--model", model]) == 1
    assert "give two images to compare (or --pairs CSV); got 1" in capsys.readouterr().err
    (tmp_path / "bad.csv").write_text("only-one-column\n")
    assert main(["verify", "predict", "--pairs", str(tmp_path / "bad.csv"), "--model", model]) == 1
    assert "must hold rows 'first,second' of two image paths; rows [1] do not" in capsys.readouterr().err
    assert main(["verify", "train", "--dataset", "orl", "--folds", "7", "--data-dir", str(trained / "data"), "--out", str(tmp_path / "x"), "-q"]) == 1
    assert "`folds` must lie in 0..5 for orl; got [7]" in capsys.readouterr().err


def test_no_final_trains_the_folds_only(trained, tmp_path, capsys):
    assert main(["verify", "train", "--dataset", "orl", "--method", "euclidean", "--folds", "1", "--no-final", "--data-dir",
                 str(trained / "data"), "--out", str(tmp_path / "run"), *QUICK]) == 0
    assert not (tmp_path / "run" / "final").exists()
    assert main(["verify", "predict", "a.pgm", "b.pgm", "--model", str(tmp_path / "run")]) == 1
    assert "holds no final model" in capsys.readouterr().err


def test_eval_refuses_a_fold_whose_test_identities_were_trained_on(trained, tmp_path, capsys):
    from metrickit.models.artifact import save_deep_model

    model = load_deep_model(trained / "euclidean" / "fold0" / "model.safetensors")
    model.info["split"]["test"] = [*model.info["split"]["test"][1:], model.info["split"]["fit"][0]]  # a tampered record
    save_deep_model(model, tmp_path / "leaky.safetensors")
    assert main(["verify", "eval", "--model", str(tmp_path / "leaky.safetensors"), "--data-dir", str(trained / "data")]) == 1
    assert f"the model's test identities ['{model.info['split']['fit'][0]}'] were among its training" in capsys.readouterr().err
