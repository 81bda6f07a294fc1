import json

import pytest

from metrickit.cli.app import main
from tests._fakes import fake_omniglot

CHARACTERS = [f"Alpha/character{i:02d}" for i in range(1, 9)]


@pytest.fixture
def omniglot_root(tmp_path, monkeypatch):
    monkeypatch.setenv("METRICKIT_CACHE", str(tmp_path / "cache"))
    root = tmp_path / "data"
    (root / "omniglot").mkdir(parents=True)
    rotations = [f"{c}/rot{r:03d}" for c in CHARACTERS for r in (0, 90, 180, 270)]
    fake_omniglot(root / "omniglot", CHARACTERS, drawers=6, splits={"train": rotations[:20], "val": rotations[20:26], "test": rotations[26:]})
    return root


def test_fewshot_train_then_eval_against_pixels(omniglot_root, tmp_path, capsys):
    out = tmp_path / "run"
    train = ["fewshot", "train", "--data-dir", str(omniglot_root), "--n-way", "5", "--n-shot", "2", "--n-query", "2",
             "--episodes-per-epoch", "4", "--epochs", "2", "--val-episodes", "10", "--val-n-query", "3", "--out", str(out), "--threads", "1", "-q", "--json"]
    assert main(train) == 0
    results = json.loads(capsys.readouterr().out)
    assert results["n_train_classes"] == 20 and len(results["history"]) == 2
    assert sorted(p.name for p in out.iterdir()) == ["checkpoint.safetensors", "model.safetensors", "results.json", "training_curve.png"]
    evaluate = ["fewshot", "eval", "--data-dir", str(omniglot_root), "--settings", "3x1,5x2", "--episodes", "30", "--n-query", "2", "--json"]
    assert main([*evaluate, "--model", str(out / "model.safetensors")]) == 0
    ours = json.loads(capsys.readouterr().out)
    assert main([*evaluate, "--model", "euclidean"]) == 0
    pixels = json.loads(capsys.readouterr().out)
    assert [r["episode_sha256"] for r in ours["results"]] == [r["episode_sha256"] for r in pixels["results"]]  # same episodes
    assert [(r["n_way"], r["n_shot"], r["n_episodes"]) for r in ours["results"]] == [(3, 1, 30), (5, 2, 30)]


def test_fewshot_errors_are_one_line(omniglot_root, capsys):
    assert main(["fewshot", "eval", "--data-dir", str(omniglot_root), "--model", "euclidean", "--settings", "5-1"]) == 1
    assert "`settings` entries must look like 5x1" in capsys.readouterr().err
    assert main(["fewshot", "eval", "--data-dir", str(omniglot_root), "--model", "euclidean", "--settings", "7x1", "--n-query", "2"]) == 1
    assert "`n_way` (7) is more than the 6 classes" in capsys.readouterr().err
