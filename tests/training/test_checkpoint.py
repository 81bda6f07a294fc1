import pytest
import torch

from metrickit.training.checkpoint import load_checkpoint, save_checkpoint


def test_nested_state_round_trips_without_pickles(tmp_path):
    state = {"epoch": 3, "history": [{"loss": 0.5, "val": None}], "optimizer": {"state": {0: {"step": torch.tensor(4.0)}},
             "param_groups": [{"lr": 0.1, "params": [0]}]}, "rng": torch.get_rng_state()}
    path = save_checkpoint(state, tmp_path / "c.safetensors")
    loaded = load_checkpoint(path)
    assert loaded["epoch"] == 3 and loaded["history"] == [{"loss": 0.5, "val": None}]
    assert torch.equal(loaded["optimizer"]["state"][0]["step"], torch.tensor(4.0))  # integer keys survive
    assert torch.equal(loaded["rng"], state["rng"])


def test_corrupt_checkpoint_is_named(tmp_path):
    path = tmp_path / "c.safetensors"
    path.write_bytes(b"garbage")
    with pytest.raises(ValueError, match="c.safetensors is not a readable safetensors checkpoint"):
        load_checkpoint(path)
    with pytest.raises(FileNotFoundError, match="checkpoint .* does not exist"):
        load_checkpoint(tmp_path / "none.safetensors")
