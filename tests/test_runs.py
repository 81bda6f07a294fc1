import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from metrickit.runs import KINDS, SCHEMA_VERSION, check_out_dir, tagged, write_results

REPO = Path(__file__).resolve().parents[1]
BLOCK_TORCH = (
    "import sys\n"
    "class Block:\n"
    "    def find_spec(self, name, path=None, target=None):\n"
    "        if name.split('.')[0] in ('torch', 'faiss'):\n"
    "            raise ModuleNotFoundError(f'No module named {name!r} (blocked by the test)', name=name.split('.')[0])\n"
    "sys.meta_path.insert(0, Block())\n"
    "from metrickit.cli.app import main\n"
    "sys.exit(main(sys.argv[1:]))\n"
)


def test_results_are_tagged_with_their_kind_and_schema(tmp_path):
    record = write_results(tmp_path / "results.json", "demo", {"a": 1, "kind": "stale"})
    assert json.loads((tmp_path / "results.json").read_text()) == record == {"kind": "demo", "schema_version": SCHEMA_VERSION, "a": 1}
    with pytest.raises(ValueError, match="`kind` must be one of"):
        tagged("something", {})


def test_every_benchmark_result_is_tagged():
    for path in sorted((REPO / "bench" / "results").glob("*.json")):
        record = json.loads(path.read_text())
        assert record.get("kind") in KINDS and record.get("schema_version") == SCHEMA_VERSION, path.name


def test_an_output_folder_is_never_reused_without_overwrite(tmp_path):
    (tmp_path / "x").mkdir()
    (tmp_path / "x" / "f").write_text("mine")
    with pytest.raises(FileExistsError, match="already exists and is not empty; pass --overwrite"):
        check_out_dir(tmp_path / "x", overwrite=False)
    assert check_out_dir(tmp_path / "x", overwrite=True) == tmp_path / "x" and check_out_dir(None, False) is None


@pytest.mark.parametrize("argv", [
    ["--help"],
    ["lmnn", "fit", "--data", "iris", "--standardize", "--max-iter", "20", "-q"],
    ["report", str(REPO / "bench" / "results"), "--out", "{tmp}/report"],
])
def test_commands_without_deep_learning_run_where_torch_cannot_be_imported(argv, tmp_path):
    argv = [a.replace("{tmp}", str(tmp_path)) for a in argv]
    done = subprocess.run([sys.executable, "-c", BLOCK_TORCH, *argv], capture_output=True, text=True, timeout=300,
                          env={"MPLBACKEND": "Agg", "PATH": "/usr/bin:/bin"})
    assert done.returncode == 0, done.stderr[-2000:]


def test_without_torch_an_lmnn_model_file_is_evaluated_and_embeds_like_any_model(tmp_path):
    rng = np.random.default_rng(0)
    np.savez(tmp_path / "features.npz", X=rng.normal(size=(60, 4)), y=np.arange(60) % 3)
    features, model = str(tmp_path / "features.npz"), str(tmp_path / "lmnn.npz")
    for argv in (["lmnn", "fit", "--features", features, "--max-iter", "20", "--out", model, "-q"],
                 ["evaluate", "--model", model, "--dataset", features, "-q"],
                 ["embed", features, "--model", model, "--out", str(tmp_path / "embeddings.npz"), "-q"]):
        done = subprocess.run([sys.executable, "-c", BLOCK_TORCH, *argv], capture_output=True, text=True, timeout=300,
                              env={"MPLBACKEND": "Agg", "PATH": "/usr/bin:/bin"})
        assert done.returncode == 0, f"{argv[0]}: {done.stderr[-2000:]}"
    assert np.load(tmp_path / "embeddings.npz")["embeddings"].shape == (60, 4)


def test_without_torch_the_demo_runs_its_lmnn_part_and_says_what_the_rest_needs(tmp_path):
    done = subprocess.run([sys.executable, "-c", BLOCK_TORCH, "demo", "--quick", "--out", str(tmp_path / "demo")], capture_output=True,
                          text=True, timeout=300, env={"MPLBACKEND": "Agg", "PATH": "/usr/bin:/bin"})
    assert done.returncode == 0, done.stderr[-2000:]
    assert "Note: the triplet embedder needs the torch extra: pip install 'metrickit[torch]' (missing module 'torch')." in done.stdout
    assert "LMNN (0-5)" in done.stdout and (tmp_path / "demo" / "unseen_classes.png").is_file()


def test_a_command_that_needs_an_extra_names_it(tmp_path):
    done = subprocess.run([sys.executable, "-c", BLOCK_TORCH, "train", "--dataset", "digits", "--out", str(tmp_path / "r")],
                          capture_output=True, text=True, timeout=300, env={"MPLBACKEND": "Agg", "PATH": "/usr/bin:/bin"})
    assert done.returncode == 1
    assert "`train` needs the torch extra: pip install 'metrickit[torch]' (missing module 'torch')." in done.stderr


def test_progress_in_a_log_updates_at_most_every_ten_seconds():
    from metrickit._progress import LOG_INTERVAL, progress

    bar = progress(range(3), desc="x")  # pytest captures stderr: not a terminal
    assert bar.mininterval == LOG_INTERVAL and list(bar) == [0, 1, 2]
    assert progress(range(3), quiet=True).disable


def test_cached_json_reuses_a_record_only_for_the_same_settings(tmp_path):
    from metrickit.runs import cached_json

    calls = []

    def compute(value):
        calls.append(value)
        return {"config": {"margin": value}, "score": value * 2}

    path = tmp_path / "a" / "run.json"
    assert cached_json(path, lambda: compute(1), matching={"config": {"margin": 1}})["score"] == 2
    assert cached_json(path, lambda: compute(1), matching={"config": {"margin": 1}})["score"] == 2 and calls == [1]  # reused
    assert cached_json(path, lambda: compute(3), matching={"config": {"margin": 3}})["score"] == 6 and calls == [1, 3]  # changed
    assert cached_json(None, lambda: compute(5))["score"] == 10 and calls == [1, 3, 5]  # no path: not stored
