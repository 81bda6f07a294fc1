"""``torchrun --standalone --nproc-per-node 2 -m metrickit train ...`` writes the model one process writes."""

import json
import os
import subprocess
import sys

import torch

from metrickit.cli.app import main
from metrickit.models.artifact import load_deep_model

TRAIN = ["train", "--dataset", "digits", "--architecture", "mlp", "--embedding-dim", "8", "--epochs", "2",
         "--batches-per-epoch", "6", "--n-classes-per-batch", "4", "--n-per-class", "6", "--n-val-classes", "2", "--margin", "0.5",
         "--optimizer", "sgd", "--learning-rate", "0.05", "--threads", "1", "-q"]
# SGD: Adam turns float32 rounding on zero-gradient parameters (a Linear bias before BatchNorm) into full-size steps


def test_torchrun_with_two_processes_writes_the_single_process_model(tmp_path):
    assert main([*TRAIN, "--out", str(tmp_path / "one")]) == 0
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": os.pathsep.join(sys.path)}
    done = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node", "2", "-m", "metrickit",
                           *TRAIN, "--out", str(tmp_path / "two")], env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "2 processes (2 on this machine), backend gloo, 1 thread each" in done.stderr
    one, two = (load_deep_model(tmp_path / name / "model.safetensors") for name in ("one", "two"))
    for name, value in one.embedder.state_dict().items():
        torch.testing.assert_close(two.embedder.state_dict()[name].double(), value.double(), rtol=1e-4, atol=1e-4, msg=name)
    single, double = (json.loads((tmp_path / name / "results.json").read_text()) for name in ("one", "two"))
    assert double["processes"]["world_size"] == 2 and double["processes"]["backend"] == "gloo"
    assert double["processes"]["batch_rows_per_rank"] == [[0, 12], [12, 24]]  # disjoint halves of each global batch
    assert sum(double["processes"]["samples_per_rank"]) == single["processes"]["samples_per_rank"][0] == 2 * 6 * 24
    for a, b in zip(double["history"], single["history"], strict=True):
        assert abs(a["loss"] - b["loss"]) < 1e-5 and abs(a["val_map_at_r"] - b["val_map_at_r"]) < 1e-4
    assert abs(double["test"]["map_at_r"] - single["test"]["map_at_r"]) < 1e-4
    assert sorted(p.name for p in (tmp_path / "two").iterdir()) == sorted(p.name for p in (tmp_path / "one").iterdir())


def test_a_killed_worker_ends_the_job_with_the_cause_and_leaves_the_last_checkpoint_intact(tmp_path):
    import time

    from metrickit.training.checkpoint import load_checkpoint

    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": os.pathsep.join(sys.path)}
    out = tmp_path / "run"
    job = subprocess.Popen([sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node", "2", "-m", "metrickit",
                            *TRAIN[:TRAIN.index("--epochs") + 1], "500", *TRAIN[TRAIN.index("--epochs") + 2:], "--out", str(out)],
                           env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 120
        while not (out / "checkpoint.safetensors").is_file() and time.monotonic() < deadline:
            time.sleep(0.2)
        assert (out / "checkpoint.safetensors").is_file(), "no checkpoint within 120 s"
        time.sleep(1.0)
        workers = [int(pid) for pid in os.listdir("/proc") if pid.isdigit() and _rank_of(int(pid)) == "1" and _child_of(int(pid), job.pid)]
        assert len(workers) == 1, workers
        os.kill(workers[0], 9)
        _, stderr = job.communicate(timeout=120)
    finally:
        if job.poll() is None:
            job.kill()
    assert job.returncode != 0
    assert "Root Cause" in stderr and "rank      : 1" in stderr and "SIGKILL" in stderr
    assert load_checkpoint(out / "checkpoint.safetensors")["epoch"] >= 1  # the last good checkpoint, readable


def _rank_of(pid: int) -> str | None:
    try:
        with open(f"/proc/{pid}/environ", "rb") as handle:
            variables = dict(item.split(b"=", 1) for item in handle.read().split(b"\0") if b"=" in item)
        return variables.get(b"RANK", b"").decode() or None
    except OSError:
        return None


def _child_of(pid: int, parent: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as handle:
            return int(handle.read().rsplit(")", 1)[1].split()[1]) == parent
    except OSError:
        return False
