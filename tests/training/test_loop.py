import pytest
import torch

from metrickit.training import load_config, prepare_classes, train


def _config(**overrides):
    settings = dict(dataset="digits", architecture="mlp", embedding_dim=8, hidden=[32], epochs=3, batches_per_epoch=15,
                    n_classes_per_batch=4, n_per_class=6, n_val_classes=2, seed=3)
    settings = {**settings, **overrides}
    if settings.get("loss", "triplet") in ("triplet", "contrastive"):
        settings.setdefault("margin", 0.5)
    return load_config(**settings)


@pytest.mark.parametrize("loss, miner", [("triplet", "all"), ("triplet", "semihard"), ("triplet", "hard"),
                                         ("triplet", "semihard-facenet"), ("triplet", "random"), ("contrastive", "all"),
                                         ("softmax", "all"), ("arcface", None), ("cosface", None), ("subcenter-arcface", None),
                                         ("proxy-anchor", None), ("multi-similarity", None), ("multi-similarity", "all"),
                                         ("contrastive", "multi-similarity"), ("supcon", None)])
def test_seeded_smoke_loss_falls_and_shapes_hold(loss, miner):
    result = train(_config(loss=loss, miner=miner, epochs=4), quiet=True)
    losses = [h["loss"] for h in result.history]
    assert losses[-1] < losses[0]
    assert result.model.embed(torch.rand(5, 64).numpy() * 16).shape == (5, 8)
    assert result.split.test_classes == [6, 7, 8, 9] and not set(result.split.fit_classes) & {6, 7, 8, 9}
    assert 0.0 <= result.test.map_at_r <= 1.0


@pytest.mark.parametrize("overrides", [
    dict(miner="random"),  # the random miner's own generator must be restored too
    dict(loss="arcface"), dict(loss="proxy-anchor"),  # the loss's own parameters and their optimiser group
    dict(loss="multi-similarity", xbm=40),  # the cross-batch memory
])
def test_resumed_run_equals_the_uninterrupted_run(tmp_path, crash_after_checkpoints, overrides):
    config = _config(epochs=3, **overrides)
    straight = train(config, checkpoint=tmp_path / "a.safetensors", quiet=True)

    crash_after_checkpoints(2)
    with pytest.raises(KeyboardInterrupt):
        train(config, checkpoint=tmp_path / "b.safetensors", quiet=True)
    crash_after_checkpoints.disarm()
    resumed = train(config, checkpoint=tmp_path / "b.safetensors", resume=True, quiet=True)

    assert [h["loss"] for h in resumed.history] == [h["loss"] for h in straight.history]
    for name, tensor in straight.model.embedder.state_dict().items():
        assert torch.equal(tensor, resumed.model.embedder.state_dict()[name]), name


def test_validation_picks_the_best_epoch():
    result = train(_config(epochs=3), quiet=True)
    scores = [h["val_map_at_r"] for h in result.history]
    assert result.best_epoch == 1 + max(range(3), key=lambda i: scores[i])


@pytest.mark.parametrize("overrides, message", [
    ({"n_val_classes": 1}, r"`n_val_classes` \(1\) must be 0, or at least 2"),
    ({"train_classes": [0, 1, 2], "test_classes": [2, 3]}, r"`train_classes` and `test_classes` overlap: \[2\]"),
    ({"architecture": "conv4", "dataset": "digits"}, r"`image_size` \(8, 8\) is too small"),
])
def test_bad_settings_fail_with_a_clear_message(overrides, message):
    with pytest.raises(ValueError, match=message):
        train(_config(**overrides), quiet=True)


def test_unknown_and_invalid_config_settings(tmp_path):
    with pytest.raises(ValueError, match=r"unknown setting\(s\) 'epoch' for TrainConfig"):
        load_config(epoch=3)
    with pytest.raises(ValueError, match="`miner` must be one of"):
        load_config(miner="hardest")
    bad = tmp_path / "c.yaml"
    bad.write_text("- a\n- b\n")
    with pytest.raises(ValueError, match="must hold a mapping of settings; got list"):
        load_config(bad)


@pytest.mark.realdata
def test_mnist_unseen_digits_smoke(mnist_dir):
    config = load_config(dataset="mnist", data_dir=str(mnist_dir.parent), architecture="conv4", embedding_dim=16, epochs=1,
                         batches_per_epoch=4, n_classes_per_batch=5, n_per_class=8, n_val_classes=2, seed=0)
    result = train(config, quiet=True)
    assert result.split.test_classes == [5, 6, 7, 8, 9] and len(result.split.test.labels) == 4861
    assert len(result.split.fit_classes) == 3 and len(result.split.val_classes) == 2
    assert result.history[0]["val_map_at_r"] is not None and 0.0 < result.test.map_at_r <= 1.0


def test_the_default_config_holds_out_two_validation_classes():
    split = prepare_classes(load_config(dataset="digits"))
    assert len(split.val_classes) == 2 and len(split.fit_classes) == 4 and split.test_classes == [6, 7, 8, 9]
