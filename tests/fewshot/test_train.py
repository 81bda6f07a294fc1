import numpy as np
import pytest
import torch

from metrickit.datasets.labeled import LabeledSet, Preprocessing
from metrickit.fewshot import FewShotConfig, train_fewshot
from metrickit.samplers import split_episode
from metrickit.training.objective import Objective


def _glyphs(n_classes=16, per_class=8, seed=0):
    """Each class a random 16 x 16 pattern; samples are noisy copies."""
    rng = np.random.default_rng(seed)
    patterns = rng.random((n_classes, 1, 16, 16)) > 0.7
    X = (patterns.repeat(per_class, 0) + rng.normal(0, 0.3, (n_classes * per_class, 1, 16, 16))).astype(np.float32)
    y = np.repeat(np.array([f"c{i:02d}" for i in range(n_classes)]), per_class)
    return LabeledSet(X, y, Preprocessing("image", (1, 16, 16)))


def _config(method="protonet", **overrides):
    return FewShotConfig.from_flat({**dict(loss=method, n_way=5, n_shot=2, n_query=3, batches_per_epoch=8, epochs=3, width=8, val_n_way=3,
                                           val_n_shot=1, val_n_query=2, val_episodes=20), **overrides})


def test_seeded_smoke_loss_falls_and_validation_picks_the_best_epoch():
    data = _glyphs()
    train, val = data.subset(np.isin(data.labels, [f"c{i:02d}" for i in range(10)])), data.subset(~np.isin(data.labels, [f"c{i:02d}" for i in range(10)]))
    result = train_fewshot(_config(), train, val, quiet=True)
    assert result.history[-1]["loss"] < result.history[0]["loss"]
    scores = [h["val_accuracy"] for h in result.history]
    assert result.best_epoch == 1 + int(np.argmax(scores))
    assert result.model(torch.from_numpy(val.X[:4])).shape == (4, 8)


@pytest.mark.parametrize("method", ["softmax", "triplet"])
def test_seeded_smoke_baselines_lower_their_loss_on_the_same_episodes(method):
    result = train_fewshot(_config(method=method, epochs=4), _glyphs(), quiet=True)
    assert result.history[-1]["loss"] < result.history[0]["loss"]
    assert result.model.normalize == (method == "triplet")
    progress = "active_fraction" if method == "triplet" else "train_accuracy"
    assert all(0 <= h[progress] <= 1 for h in result.history)


def test_objective_losses_follow_their_definitions():
    config = _config(n_way=3, n_shot=1, n_query=2)
    torch.manual_seed(0)
    embeddings, codes = torch.randn(9, 4), torch.tensor([7, 2, 5, 7, 7, 2, 2, 5, 5])  # episode layout: supports, then queries
    protonet = Objective(config.objective, 4, 10, episode=split_episode(3, 1, 2))
    loss, accuracy = protonet(embeddings, codes)
    logits = -torch.cdist(embeddings[3:], embeddings[:3]) ** 2  # one support each: prototypes are the supports
    torch.testing.assert_close(loss, torch.nn.functional.cross_entropy(logits, torch.tensor([0, 0, 1, 1, 2, 2])))
    assert accuracy == float((logits.argmax(1) == torch.tensor([0, 0, 1, 1, 2, 2])).float().mean())
    softmax = Objective(config.with_flat(loss="softmax").objective, 4, 10)
    loss, accuracy = softmax(embeddings, codes)
    torch.testing.assert_close(loss, torch.nn.functional.cross_entropy(softmax.loss.head(embeddings), codes))
    assert list(softmax.parameters()) and not list(protonet.parameters())


@pytest.mark.parametrize("method", ["protonet", "softmax"])
def test_resumed_run_equals_the_uninterrupted_run(tmp_path, crash_after_checkpoints, method):
    data = _glyphs()
    straight = train_fewshot(_config(method=method), data, checkpoint=tmp_path / "a.safetensors", quiet=True)
    crash_after_checkpoints(1)
    with pytest.raises(KeyboardInterrupt):
        train_fewshot(_config(method=method), data, checkpoint=tmp_path / "b.safetensors", quiet=True)
    crash_after_checkpoints.disarm()
    resumed = train_fewshot(_config(method=method), data, checkpoint=tmp_path / "b.safetensors", resume=True, quiet=True)
    assert [h["loss"] for h in resumed.history] == [h["loss"] for h in straight.history]
    for name, tensor in straight.model.state_dict().items():
        assert torch.equal(tensor, resumed.model.state_dict()[name]), name


def test_bad_settings_and_too_small_classes():
    with pytest.raises(ValueError, match="`n_shot` must be an integer >= 1; got 0."):
        _config(n_shot=0)
    with pytest.raises(ValueError, match="`loss` must be one of 'triplet', 'contrastive', 'softmax', 'protonet', 'arcface', .*; got 'knn'."):
        _config(method="knn")
    with pytest.raises(ValueError, match=r"needs 9 per class"):
        train_fewshot(_config(n_shot=4, n_query=5), _glyphs(), quiet=True)
