import json
import os
import subprocess
import sys

import numpy as np
import pytest

from metrickit.cli.app import main

ENV = {**os.environ, "MPLBACKEND": "Agg"}


def _run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "metrickit", *args], capture_output=True, text=True, env=ENV, timeout=600)


def test_help_is_fast_and_never_imports_torch_or_sklearn():
    code = (
        "import sys\nfrom metrickit.cli.app import main\n"
        "for argv in (['lmnn', 'fit', '--help'], ['train', '--help'], ['evaluate', '--help'], ['embed', '--help'], ['fewshot', 'train', '--help']):\n"
        "    try:\n        main(argv)\n    except SystemExit:\n        pass\n"
        "print(sorted(m for m in ('torch', 'sklearn', 'scipy', 'cvxpy', 'faiss') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=ENV, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip().splitlines()[-1] == "[]"


def test_every_command_has_help():
    for args in ([], ["demo"], ["lmnn"], ["lmnn", "fit"], ["lmnn", "transform"], ["lmnn", "evaluate"], ["train"], ["evaluate"], ["embed"],
                 ["fewshot"], ["fewshot", "train"], ["fewshot", "eval"], ["fewshot", "make-runs"]):
        result = _run(*args, "--help")
        assert result.returncode == 0 and "usage: metrickit" in result.stdout


def test_fit_transform_evaluate_round_trip(tmp_path, capsys):
    model = tmp_path / "iris.npz"
    assert main(["lmnn", "fit", "--data", "iris", "--standardize", "--out", str(model), "--json", "--quiet"]) == 0
    fit = json.loads(capsys.readouterr().out)
    assert fit["converged"] and 0.0 <= fit["lmnn_error"] <= 1.0 and fit["n_train"] == 105
    features = tmp_path / "X.csv"
    np.savetxt(features, np.random.default_rng(0).normal(size=(5, 4)), delimiter=",")
    out = tmp_path / "Z.npy"
    assert main(["lmnn", "transform", "--model", str(model), "--features", str(features), "--out", str(out), "-q"]) == 0
    assert np.load(out).shape == (5, 4)
    capsys.readouterr()
    assert main(["lmnn", "evaluate", "--model", str(model), "--data", "iris", "--standardize", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["lmnn_error"] == pytest.approx(fit["lmnn_error"])


def test_bring_your_own_csv(tmp_path, capsys):
    rng = np.random.default_rng(0)
    table = np.column_stack([rng.normal(size=(60, 3)) + np.repeat(np.eye(3) * 3, 20, axis=0), np.repeat([0, 1, 2], 20)])
    path = tmp_path / "mine.csv"
    np.savetxt(path, table, delimiter=",", header="f1,f2,f3,label", comments="")
    assert main(["lmnn", "fit", "--features", str(path), "--label-column", "-1", "--json", "-q"]) == 0
    assert json.loads(capsys.readouterr().out)["n_features"] == 3


def test_out_is_never_overwritten_without_flag(tmp_path, capsys):
    model = tmp_path / "m.npz"
    model.write_bytes(b"keep me")
    assert main(["lmnn", "fit", "--data", "iris", "--out", str(model), "-q"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("metrickit: error: ") and "already exists" in err and err.count("\n") == 1
    assert model.read_bytes() == b"keep me"


def test_errors_are_one_line_and_exit_nonzero(tmp_path, capsys):
    assert main(["lmnn", "fit", "--features", str(tmp_path / "none.npy"), "-q"]) == 1
    assert capsys.readouterr().err == f"metrickit: error: Features file {tmp_path / 'none.npy'} does not exist.\n"
    assert main(["lmnn", "fit", "--data", "iris", "--n-neighbors", "0", "-q"]) == 1
    assert "`n_neighbors` must be >= 1; got 0." in capsys.readouterr().err
    assert main(["lmnn", "fit", "--data", "mnist", "--data-dir", str(tmp_path), "-q"]) == 1
    assert "Dataset folder" in capsys.readouterr().err
    assert main(["lmnn", "fit", "--data", "iris", "--threads", "0", "-q"]) == 1


def test_demo_quick_writes_its_files(tmp_path):
    out = tmp_path / "demo"
    result = _run("demo", "--quick", "--out", str(out), "--json", "--quiet", "--threads", "2")
    assert result.returncode == 0, result.stderr
    results = json.loads(result.stdout)
    assert {"model.npz", "projection.png", "objective.png", "unseen_classes.png"} <= set(results["files"])
    assert set(results["unseen_classes"]["metrics"]) == {"Euclidean", "LMNN (0-5)", "triplet MLP (0-5)"}
    assert (out / "results.json").is_file() and results["dataset"] == "digits"
    assert results["provenance"]["threads"] == 2
    again = _run("demo", "--quick", "--out", str(out), "--quiet")
    assert again.returncode == 1 and "already exists" in again.stderr


def _all_parsers(parser, path=()):
    import argparse

    yield path, parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield from _all_parsers(sub, (*path, name))


def test_every_option_shows_its_default_in_help():
    from metrickit.cli.app import build_parser

    missing = [f"{' '.join(path)} {action.option_strings[-1]}" for path, parser in _all_parsers(build_parser())
               for action in parser._actions
               if action.option_strings and action.nargs != 0 and not action.required and "default" not in (action.help or "")]
    assert missing == []


def test_cli_prints_the_sections_a_report_shows(capsys):
    from metrickit.reporting import result_text

    argv = ["evaluate", "--model", "euclidean", "--dataset", "digits", "--classes", "6,7,8", "--backend", "exact"]
    assert main([*argv, "--json"]) == 0
    record = json.loads(capsys.readouterr().out)
    assert record["kind"] == "retrieval-eval"
    assert main(argv) == 0
    printed = capsys.readouterr().out
    assert printed.strip() == result_text(record) and "MAP@R" in printed
