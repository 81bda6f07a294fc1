import json

import pytest

from metrickit.cli.app import main
from metrickit.fewshot import EpisodeFile
from metrickit.models.artifact import load_deep_model
from tests._fakes import fake_omniglot

CHARACTERS = [f"Alpha/character{i:02d}" for i in range(1, 9)]


@pytest.fixture
def omniglot_root(tmp_path, monkeypatch):
    monkeypatch.setenv("METRICKIT_CACHE", str(tmp_path / "cache"))
    root = tmp_path / "data"
    (root / "omniglot").mkdir(parents=True)
    rotations = [f"{c}/rot{r:03d}" for c in CHARACTERS for r in (0, 90, 180, 270)]
    # character-disjoint, as Vinyals' splits: train 1-5, val 6, test 7-8 (each in four rotations)
    splits = {"train": rotations[:20], "val": rotations[20:24], "test": rotations[24:], "trainval": rotations[:24]}
    fake_omniglot(root / "omniglot", CHARACTERS, drawers=6, splits=splits)
    return root


def test_fewshot_train_then_eval_against_pixels(omniglot_root, tmp_path, capsys):
    out = tmp_path / "run"
    train = ["fewshot", "train", "--data-dir", str(omniglot_root), "--n-way", "5", "--n-shot", "2", "--n-query", "2",
             "--episodes-per-epoch", "4", "--epochs", "2", "--val-episodes", "10", "--val-n-way", "3", "--val-n-query", "3", "--out", str(out), "--threads", "1", "-q", "--json"]
    assert main(train) == 0
    results = json.loads(capsys.readouterr().out)
    assert results["n_train_classes"] == 20 and len(results["history"]) == 2
    assert sorted(p.name for p in out.iterdir()) == ["checkpoint.safetensors", "model.safetensors", "results.json", "training_curve.png"]
    evaluate = ["fewshot", "eval", "--data-dir", str(omniglot_root), "--settings", "3x1,5x2", "--episodes", "30", "--n-query", "2", "--json"]
    assert main([*evaluate, "--model", f"proto={out / 'model.safetensors'}", "--model", "euclidean", "--out", str(tmp_path / "eval")]) == 0
    results = json.loads(capsys.readouterr().out)
    ours, pixels = results["methods"]["proto"], results["methods"]["euclidean (pixels)"]
    assert ours["method"] == "protonet" and pixels["model"] is None
    assert [r["episode_sha256"] for r in ours["results"]] == [r["episode_sha256"] for r in pixels["results"]]  # same episodes
    assert [(r["n_way"], r["n_shot"], r["n_episodes"]) for r in ours["results"]] == [(3, 1, 30), (5, 2, 30)]
    written = sorted(p.name for p in (tmp_path / "eval").iterdir())
    assert written == ["accuracy.png", "episodes_3x1.npz", "episodes_5x2.npz", "results.json"]
    assert EpisodeFile.load(tmp_path / "eval" / "episodes_5x2.npz").sha256() == ours["results"][1]["episode_sha256"]
    assert json.loads((tmp_path / "eval" / "results.json").read_text())["provenance"]["threads"] >= 1
    assert main([*evaluate, "--model", "euclidean", "--out", str(tmp_path / "eval")]) == 1  # never overwrites without --overwrite
    assert "already exists and is not empty" in capsys.readouterr().err


@pytest.mark.parametrize("method, extra", [("softmax", []), ("triplet", []), ("arcface", ["--margin", "0.3", "--scale", "16"]),
                                           ("multi-similarity", ["--xbm", "32"]), ("ntxent", [])])
def test_fewshot_train_baselines_record_their_method(omniglot_root, tmp_path, capsys, method, extra):
    out = tmp_path / method
    train = ["fewshot", "train", "--method", method, "--data-dir", str(omniglot_root), "--n-way", "4", "--n-shot", "2", "--n-query", "2",
             "--episodes-per-epoch", "3", "--epochs", "2", "--val-episodes", "5", "--val-n-way", "3", "--val-n-query", "3",
             "--out", str(out), "--threads", "1", "-q", "--json", *extra]
    assert main(train) == 0
    results = json.loads(capsys.readouterr().out)
    assert results["config"]["objective"]["loss"] == method and results["selected_episodes"] == 3 * results["best_epoch"]
    assert load_deep_model(out / "model.safetensors").info["method"] == method


def test_fewshot_errors_are_one_line(omniglot_root, capsys):
    assert main(["fewshot", "eval", "--data-dir", str(omniglot_root), "--model", "euclidean", "--settings", "5-1"]) == 1
    assert "`settings` entries must look like 5x1" in capsys.readouterr().err
    assert main(["fewshot", "eval", "--data-dir", str(omniglot_root), "--model", "euclidean", "--settings", "9x1", "--n-query", "2"]) == 1
    assert "`n_way` (9) is more than the 8 classes" in capsys.readouterr().err
    assert main(["fewshot", "eval", "--data-dir", str(omniglot_root), "--model", "a=euclidean", "--model", "a=euclidean"]) == 1
    assert "two --model values are both named 'a'" in capsys.readouterr().err
    assert main(["fewshot", "train", "--data-dir", str(omniglot_root), "--out", "x", "--margin", "0.5"]) == 1
    assert "loss 'protonet' has no `margin`; leave it unset." in capsys.readouterr().err
    assert main(["fewshot", "train", "--data-dir", str(omniglot_root), "--out", "x", "--method", "triplet", "--margin", "-1"]) == 1
    assert "triplet's `margin` is in squared Euclidean distance (plain distance with squared=False), in [0, inf) (default 0.2); got -1.0." \
        in capsys.readouterr().err


def test_background_split_selects_on_held_out_alphabets_then_trains_on_all(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("METRICKIT_CACHE", str(tmp_path / "cache"))
    root = tmp_path / "data"
    (root / "omniglot").mkdir(parents=True)
    characters = [f"{a}/character{i:02d}" for a in ("Alpha", "Beta", "Gamma") for i in (1, 2)]
    fake_omniglot(root / "omniglot", characters, drawers=6)
    out = tmp_path / "lake"
    train = ["fewshot", "train", "--split", "background", "--n-val-alphabets", "1", "--data-dir", str(root), "--n-way", "4",
             "--n-shot", "2", "--n-query", "2", "--episodes-per-epoch", "3", "--epochs", "2", "--val-n-way", "3", "--val-n-query", "2",
             "--val-episodes", "5", "--out", str(out), "--threads", "1", "-q", "--json"]
    assert main(train) == 0
    results = json.loads(capsys.readouterr().out)
    held = results["val_alphabets"]
    assert len(held) == 1 and results["selection"]["n_train_classes"] == 4 * 4 and results["n_train_classes"] == 6 * 4
    assert results["config"]["loop"]["epochs"] == results["selection"]["best_epoch"]  # the final run trains for the selected epochs
    assert (out / "selection" / "model.safetensors").is_file() and (out / "model.safetensors").is_file()
    info = load_deep_model(out / "model.safetensors").info
    assert info["train_characters"] == sorted(characters)
    assert info["val_characters"] == [c for c in sorted(characters) if c.startswith(held[0])]
    selection = load_deep_model(out / "selection" / "model.safetensors").info
    assert not set(selection["train_characters"]) & set(selection["val_characters"])


@pytest.mark.parametrize("split, val_split, message", [
    ("trainval", "val", "`val_split` 'val' cannot validate `split` 'trainval': it contains every val.txt class."),
    ("background", "val", "`val_split` 'val' cannot validate `split` 'background': it contains every val.txt character"),
    ("train", "alphabets", "`val_split` 'alphabets' holds out background alphabets and needs `split` 'background'; got 'train'."),
])
def test_overlapping_training_and_validation_splits_are_refused(omniglot_root, tmp_path, capsys, split, val_split, message):
    assert main(["fewshot", "train", "--data-dir", str(omniglot_root), "--split", split, "--val-split", val_split,
                 "--out", str(tmp_path / "x")]) == 1
    assert message in capsys.readouterr().err
    assert not (tmp_path / "x").exists()


def test_eval_refuses_a_model_that_trained_on_the_split_it_is_scored_on(omniglot_root, tmp_path, capsys):
    out = tmp_path / "tv"
    train = ["fewshot", "train", "--data-dir", str(omniglot_root), "--split", "trainval", "--n-way", "5", "--n-shot", "2",
             "--n-query", "2", "--episodes-per-epoch", "2", "--epochs", "1", "--out", str(out), "--threads", "1", "-q"]
    assert main(train) == 0
    evaluate = ["fewshot", "eval", "--data-dir", str(omniglot_root), "--model", str(out / "model.safetensors"), "--settings", "3x1",
                "--episodes", "5", "--n-query", "2"]
    assert main([*evaluate, "--split", "val"]) == 1  # trainval.txt contains val.txt
    assert "trained or validated on 1 characters of the 'val' split (e.g. Alpha/character06)" in capsys.readouterr().err
    assert main([*evaluate, "--split", "test"]) == 0
