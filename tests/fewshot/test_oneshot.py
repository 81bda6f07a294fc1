import json
import zipfile

import pytest

from metrickit.cli.app import main
from metrickit.exceptions import DatasetNotFoundError
from metrickit.fewshot.oneshot import evaluate_runs, make_runs
from tests._fakes import drawing


def _archive(path, n_characters=5, drawers=3):
    with zipfile.ZipFile(path, "w") as archive:
        for c in range(n_characters):
            for d in range(1, drawers + 1):
                archive.writestr(f"images_evaluation/Alpha/character{c + 1:02d}/{c + 1:04d}_{d:02d}.png", drawing(c * 8))
    return path


def test_runs_in_the_official_layout_scored_by_pixels(tmp_path):
    runs = make_runs(_archive(tmp_path / "images_evaluation.zip"), tmp_path / "runs", n_runs=3, n_way=4, seed=1)
    run = runs / "run01"
    assert len(list((run / "training").glob("class*.png"))) == 4 and len(list((run / "test").glob("item*.png"))) == 4
    lines = (run / "class_labels.txt").read_text().split("\n")
    assert lines[0].startswith("run01/test/item01.png run01/training/class")
    results = evaluate_runs(runs)
    assert results["runs"] == ["run01", "run02", "run03"]
    assert results["errors"] == [0.0, 0.0, 0.0]  # each character's drawings are identical here: pixels are perfect


def test_wrong_answers_count_as_errors(tmp_path):
    runs = make_runs(_archive(tmp_path / "images_evaluation.zip"), tmp_path / "runs", n_runs=1, n_way=4)
    labels = runs / "run01" / "class_labels.txt"
    pairs = [line.split() for line in labels.read_text().splitlines()]
    pairs[0][1], pairs[1][1] = pairs[1][1], pairs[0][1]  # swap two answers
    labels.write_text("".join(f"{t} {c}\n" for t, c in pairs))
    assert evaluate_runs(runs)["errors"] == [0.5]


def test_missing_runs_and_bad_files_are_named(tmp_path):
    with pytest.raises(DatasetNotFoundError, match="holds no one-shot runs"):
        evaluate_runs(tmp_path)
    runs = make_runs(_archive(tmp_path / "images_evaluation.zip"), tmp_path / "runs", n_runs=1, n_way=4)
    (runs / "run01" / "class_labels.txt").write_text("just-one-column\n")
    with pytest.raises(ValueError, match="must hold lines '<test item> <training class>'"):
        evaluate_runs(runs)
    with pytest.raises(FileExistsError, match="already exists and is not empty"):
        make_runs(tmp_path / "images_evaluation.zip", runs)
    with pytest.raises(ValueError, match="has no alphabet with 20 characters"):
        make_runs(tmp_path / "images_evaluation.zip", tmp_path / "other")


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
