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
