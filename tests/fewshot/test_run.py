import pytest
import torch

from metrickit.fewshot import FewShotConfig
from metrickit.fewshot.run import check_training_splits, run_fewshot_training
from metrickit.models.artifact import load_deep_model
from tests._fakes import fake_omniglot


@pytest.fixture
def background_root(tmp_path, monkeypatch):
    monkeypatch.setenv("METRICKIT_CACHE", str(tmp_path / "cache"))
    root = tmp_path / "data"
    (root / "omniglot").mkdir(parents=True)
    fake_omniglot(root / "omniglot", [f"{a}/character{i:02d}" for a in ("Alpha", "Beta", "Gamma") for i in (1, 2)], drawers=6)
    return root


def _config():
    return FewShotConfig.from_flat(n_way=4, n_shot=2, n_query=2, batches_per_epoch=3, epochs=2, width=4, val_n_way=3, val_n_query=2,
                                   val_episodes=5)


def test_background_run_resumes_across_its_two_stages(background_root, tmp_path, crash_after_checkpoints):
    kwargs = dict(split="background", n_val_alphabets=1, data_dir=background_root, quiet=True)
    straight = run_fewshot_training(_config(), tmp_path / "a", **kwargs)
    crash_after_checkpoints(2 + 1)  # both selection epochs, then the final run's first
    with pytest.raises(KeyboardInterrupt):
        run_fewshot_training(_config(), tmp_path / "b", **kwargs)
    crash_after_checkpoints.disarm()
    resumed = run_fewshot_training(_config(), tmp_path / "b", resume=True, **kwargs)
    assert [h["loss"] for h in resumed["history"]] == [h["loss"] for h in straight["history"]]
    a, b = (load_deep_model(tmp_path / run / "model.safetensors").embedder.state_dict() for run in ("a", "b"))
    assert all(torch.equal(a[name], b[name]) for name in a)


def test_auto_validation_follows_the_split():
    assert [check_training_splits(s, "auto") for s in ("train", "trainval", "background")] == ["val", None, "alphabets"]
    assert check_training_splits("train", None) is None
    with pytest.raises(ValueError, match="`split` must be 'train', 'trainval' or 'background' for training; got 'test'."):
        check_training_splits("test", "auto")
