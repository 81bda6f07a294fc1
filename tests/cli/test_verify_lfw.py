"""`metrickit verify train|eval|predict --dataset lfw` on the real LFW: a fold model, its evaluation, the refusals."""

import json
import zipfile

import pytest


from metrickit.cli.app import main


def test_lfw_train_eval_predict_and_refusals(lfw_dir, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("METRICKIT_CACHE", str(tmp_path / "cache"))
    data = ["--data-dir", str(lfw_dir.parent), "-q", "--json"]
    assert main(["verify", "train", "--dataset", "lfw", "--method", "hog-kissme", "--setting", "restricted", "--folds", "3",
                 "--out", str(tmp_path / "kiss"), *data]) == 0
    trained = json.loads(capsys.readouterr().out)
    assert trained["kind"] == "lfw-training" and [r["experiment"] for r in trained["repeats"]] == ["fold3"]
    assert trained["final"]["experiment"] == "final" and (tmp_path / "kiss" / "final" / "model.safetensors").is_file()
    assert main(["verify", "eval", "--model", f"kissme={tmp_path / 'kiss'}", "--out", str(tmp_path / "eval"), *data]) == 0
    scored = json.loads(capsys.readouterr().out)
    summary = scored["methods"]["kissme"]["summary"]
    assert scored["kind"] == "lfw-eval" and scored["view"] == "view2" and summary["n_folds"] == 1 and 0.5 < summary["accuracy_mean"] <= 1
    assert (tmp_path / "eval" / "roc.png").is_file()
    with zipfile.ZipFile(lfw_dir / "lfw.zip") as archive:  # two images of one person, straight from the archive (250 x 250)
        for name in ("Aaron_Peirsol_0001.jpg", "Aaron_Peirsol_0002.jpg"):
            (tmp_path / name).write_bytes(archive.read(f"lfw/Aaron_Peirsol/{name}"))
    assert main(["verify", "predict", "--model", str(tmp_path / "kiss"), str(tmp_path / "Aaron_Peirsol_0001.jpg"),
                 str(tmp_path / "Aaron_Peirsol_0002.jpg"), "--json"]) == 0
    predicted = json.loads(capsys.readouterr().out)
    row = predicted["pairs"][0]  # the final model's threshold (set on View 2's fold 10) decides
    assert predicted["threshold"] == pytest.approx(trained["final"]["threshold"]) and row["same"] == (row["distance"] <= predicted["threshold"])
    # a fold model renamed into another fold's place is still scored on its own fold only; View 1 models never on View 2
    (tmp_path / "moved" / "fold4").mkdir(parents=True)
    (tmp_path / "kiss" / "fold3" / "model.safetensors").rename(tmp_path / "moved" / "fold4" / "model.safetensors")
    assert main(["verify", "eval", "--model", str(tmp_path / "moved"), *data]) == 0
    assert json.loads(capsys.readouterr().out)["methods"]["moved"]["folds"][0]["experiment"] == "fold3"
    assert main(["verify", "train", "--dataset", "lfw", "--method", "arcface", "--setting", "restricted", "--out", str(tmp_path / "x"), "-q"]) == 1
    assert "learns from identities" in capsys.readouterr().err
    assert main(["verify", "train", "--dataset", "orl", "--method", "euclidean", "--crop", "100", "--out", str(tmp_path / "y"), "-q"]) == 1
    assert "--crop apply to --dataset lfw only" in capsys.readouterr().err
    assert not (tmp_path / "x").exists() and not (tmp_path / "y").exists()
