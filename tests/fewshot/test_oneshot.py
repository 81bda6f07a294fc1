import json
import zipfile

import pytest

from metrickit.cli.app import main
from metrickit.exceptions import DatasetNotFoundError
from metrickit.fewshot.oneshot import score_runs, make_runs
from tests._fakes import drawing


def _archive(path, n_characters=5, drawers=3, alphabets=("Alpha",)):
    with zipfile.ZipFile(path, "w") as archive:
        for a, alphabet in enumerate(alphabets):
            for c in range(n_characters):
                for d in range(1, drawers + 1):
                    archive.writestr(f"images_evaluation/{alphabet}/character{c + 1:02d}/{100 * a + c + 1:04d}_{d:02d}.png", drawing(c * 8))
    return path


def _model(path, info):
    """A small conv-4 model file whose info lists the characters it saw."""
    from metrickit.datasets.omniglot import PREPROCESSING
    from metrickit.models.artifact import DeepMetricModel, save_deep_model
    from metrickit.models.embedding import Conv4

    return save_deep_model(DeepMetricModel(Conv4(1, 4, (28, 28)), PREPROCESSING, "squared euclidean", None, [], info), path)


def test_runs_in_the_official_layout_scored_by_pixels(tmp_path):
    runs = make_runs(_archive(tmp_path / "images_evaluation.zip"), tmp_path / "runs", n_runs=3, n_way=4, seed=1)
    run = runs / "run01"
    assert len(list((run / "training").glob("class*.png"))) == 4 and len(list((run / "test").glob("item*.png"))) == 4
    lines = (run / "class_labels.txt").read_text().split("\n")
    assert lines[0].startswith("run01/test/item01.png run01/training/class")
    results = score_runs(runs)
    assert results["runs"] == ["run01", "run02", "run03"]
    assert results["errors"] == [0.0, 0.0, 0.0]  # each character's drawings are identical here: pixels are perfect


def test_wrong_answers_count_as_errors(tmp_path):
    runs = make_runs(_archive(tmp_path / "images_evaluation.zip"), tmp_path / "runs", n_runs=1, n_way=4)
    labels = runs / "run01" / "class_labels.txt"
    pairs = [line.split() for line in labels.read_text().splitlines()]
    pairs[0][1], pairs[1][1] = pairs[1][1], pairs[0][1]  # swap two answers
    labels.write_text("".join(f"{t} {c}\n" for t, c in pairs))
    assert score_runs(runs)["errors"] == [0.5]


def test_missing_runs_and_bad_files_are_named(tmp_path):
    with pytest.raises(DatasetNotFoundError, match="holds no one-shot runs"):
        score_runs(tmp_path)
    runs = make_runs(_archive(tmp_path / "images_evaluation.zip"), tmp_path / "runs", n_runs=1, n_way=4)
    (runs / "run01" / "class_labels.txt").write_text("just-one-column\n")
    with pytest.raises(ValueError, match="must hold lines '<test item> <training class>'"):
        score_runs(runs)
    with pytest.raises(FileExistsError, match="already exists and is not empty"):
        make_runs(tmp_path / "images_evaluation.zip", runs)
    with pytest.raises(ValueError, match="has no alphabet with 20 characters"):
        make_runs(tmp_path / "images_evaluation.zip", tmp_path / "other")


def test_existing_runs_are_replaced_only_with_overwrite_and_only_once_the_new_ones_exist(tmp_path):
    archive = _archive(tmp_path / "images_evaluation.zip")
    runs = make_runs(archive, tmp_path / "runs", n_runs=1, n_way=4, seed=0)
    (runs / "mine.txt").write_text("kept")
    with pytest.raises(FileExistsError, match="pass --overwrite"):
        make_runs(archive, runs, n_runs=2, n_way=4)
    assert (runs / "mine.txt").read_text() == "kept"
    with pytest.raises(ValueError, match="has no alphabet with 20 characters"):
        make_runs(archive, runs, overwrite=True)  # fails before writing: the old runs stay
    assert (runs / "mine.txt").is_file()
    make_runs(archive, runs, n_runs=2, n_way=4, overwrite=True)
    assert sorted(p.name for p in runs.iterdir()) == ["manifest.json", "run01", "run02"]
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []  # no staging or backup folder left


def test_cli_eval_runs(tmp_path, capsys):
    runs = make_runs(_archive(tmp_path / "images_evaluation.zip"), tmp_path / "runs", n_runs=2, n_way=4)
    assert main(["fewshot", "eval", "--runs", str(runs), "--model", "euclidean", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["mean_error"] == 0.0


def test_cli_make_runs_from_the_data_dir(tmp_path, capsys):
    (tmp_path / "data" / "omniglot").mkdir(parents=True)
    _archive(tmp_path / "data" / "omniglot" / "images_evaluation.zip", n_characters=20, drawers=2)
    assert main(["fewshot", "make-runs", "--data-dir", str(tmp_path / "data"), "--n-runs", "2", "--out", str(tmp_path / "runs")]) == 0
    assert "wrote 2 within-alphabet 20-way one-shot runs" in capsys.readouterr().out
    assert len(list((tmp_path / "runs" / "run02" / "test").glob("*.png"))) == 20


def test_runs_leave_out_excluded_characters_and_list_theirs(tmp_path):
    archive = _archive(tmp_path / "images_evaluation.zip", n_characters=6, alphabets=("Alpha", "Beta"))
    excluded = {f"Alpha/character{c:02d}" for c in (1, 2, 3)}  # Alpha keeps 3 < 4 characters: only Beta can host a run
    runs = make_runs(archive, tmp_path / "runs", n_runs=4, n_way=4, seed=0, exclude=excluded)
    manifest = json.loads((runs / "manifest.json").read_text())
    assert manifest["alphabets"] == ["Beta"] and manifest["n_excluded_characters"] == 3
    assert [r["alphabet"] for r in manifest["runs"]] == ["Beta"] * 4
    for run in manifest["runs"]:
        assert len(run["characters"]) == 4 and not excluded & set(run["characters"])
        assert set(run["drawings"]) == {str(p.relative_to(runs)) for p in (runs / run["run"]).rglob("*.png")}
    with pytest.raises(ValueError, match="has no alphabet with 4 characters outside the 9 excluded characters"):
        make_runs(archive, tmp_path / "none", n_way=4, exclude=excluded | {f"Beta/character{c:02d}" for c in range(1, 7)})
    assert not (tmp_path / "none").exists()  # nothing half-written


def test_a_model_that_saw_the_runs_characters_is_refused(tmp_path):
    runs = make_runs(_archive(tmp_path / "images_evaluation.zip"), tmp_path / "runs", n_runs=2, n_way=4, seed=0)
    first = json.loads((runs / "manifest.json").read_text())["runs"][0]
    leaky = _model(tmp_path / "leaky.safetensors", {"train_characters": ["Other/character01"], "val_characters": [first["characters"][0]]})
    with pytest.raises(ValueError, match=r"leaky.safetensors trained or validated on characters of \d of the 2 runs .*run01: Alpha/character"):
        score_runs(runs, leaky)
    clean = _model(tmp_path / "clean.safetensors", {"train_characters": ["Other/character01"], "val_characters": []})
    assert score_runs(runs, clean)["runs"] == ["run01", "run02"]


def test_runs_without_a_manifest_refuse_a_model_that_saw_evaluation_alphabets(tmp_path):
    runs = make_runs(_archive(tmp_path / "images_evaluation.zip", alphabets=("Keble",)), tmp_path / "runs", n_runs=1, n_way=4)
    (runs / "manifest.json").unlink()  # as Lake's official runs: no record of their characters
    vinyals = _model(tmp_path / "vinyals.safetensors", {"train_characters": ["Arcadian/character01", "Gurmukhi/character03"]})
    with pytest.raises(ValueError, match=r"has no manifest.json, so its characters are unknown, .* 1 characters of evaluation alphabets"):
        score_runs(runs, vinyals)
    lake = _model(tmp_path / "lake.safetensors", {"train_characters": ["Arcadian/character01"]})
    assert len(score_runs(runs, lake)["errors"]) == 1


def test_cli_make_runs_leaves_out_the_models_characters(tmp_path, capsys):
    (tmp_path / "data" / "omniglot").mkdir(parents=True)
    _archive(tmp_path / "data" / "omniglot" / "images_evaluation.zip", n_characters=20, drawers=2, alphabets=("Alpha", "Beta"))
    model = _model(tmp_path / "m.safetensors", {"train_characters": ["Alpha/character01"], "val_characters": []})
    assert main(["fewshot", "make-runs", "--data-dir", str(tmp_path / "data"), "--n-runs", "2", "--out", str(tmp_path / "runs"),
                 "--model", str(model)]) == 0
    assert "drawn from 1 alphabets (leaving out the 1 characters the models trained or validated on)" in capsys.readouterr().out
    manifest = json.loads((tmp_path / "runs" / "manifest.json").read_text())
    assert manifest["alphabets"] == ["Beta"] and manifest["excluded_models"][0]["path"] == str(model)
    assert main(["fewshot", "eval", "--runs", str(tmp_path / "runs"), "--model", str(model), "--json"]) == 0
