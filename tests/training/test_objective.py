"""The objective: losses with their own parameters, cross-batch memory and views plug into the one loop properly."""

import pytest
import torch

from metrickit.losses import MultiSimilarityLoss, TripletMarginLoss
from metrickit.training import load_config, train
from metrickit.training.config import ObjectiveConfig
from metrickit.training.memory import CrossBatchMemory
from metrickit.training.objective import Objective
from metrickit.training.views import ImageViews


def _config(**overrides):
    settings = dict(dataset="digits", architecture="mlp", embedding_dim=8, hidden=[32], epochs=2, batches_per_epoch=8,
                    n_classes_per_batch=4, n_per_class=6, n_val_classes=2, seed=1)
    return load_config(**{**settings, **overrides})


def test_a_losss_own_parameters_train_at_their_scaled_rate_are_checkpointed_and_stay_out_of_the_model(tmp_path):
    from metrickit.training.checkpoint import load_checkpoint

    result = train(_config(loss="proxy-anchor", learning_rate=1e-3), checkpoint=tmp_path / "c.safetensors", quiet=True)
    state = load_checkpoint(tmp_path / "c.safetensors")
    assert [group["initial_lr"] for group in state["optimizer"]["param_groups"]] == pytest.approx([1e-3, 0.1])
    assert "loss.weight" in state["objective"] and state["objective"]["loss.weight"].shape == (4, 8)  # 4 fit classes
    assert all(not name.startswith("loss") for name in result.model.embedder.state_dict())


def test_head_lr_scale_overrides_the_losss_own():
    objective = Objective(ObjectiveConfig(loss="proxy-anchor", head_lr_scale=10.0), 8, 4)
    assert objective.learning_rate_scale == 10.0
    assert Objective(ObjectiveConfig(loss="arcface"), 8, 4).learning_rate_scale == 1.0


def test_the_memory_adds_the_loss_against_earlier_batches_once_warm():
    torch.manual_seed(0)
    config = ObjectiveConfig(loss="multi-similarity", miner="all", xbm=16, xbm_warmup=1)
    objective = Objective(config, 4, 3)
    first, second = torch.randn(8, 4), torch.randn(8, 4)
    codes = torch.tensor([0, 0, 1, 1, 2, 2, 0, 1])
    alone = MultiSimilarityLoss()
    loss, _ = objective(first, codes)  # warm-up: the batch alone, then stored
    assert loss.item() == pytest.approx(alone(first, codes).item())
    loss, _ = objective(second, codes)
    expected = alone(second, codes) + alone(second, codes, ref_embeddings=first, ref_labels=codes)
    assert loss.item() == pytest.approx(expected.item())
    assert len(objective.memory.references()[0]) == 16


def test_triplet_mining_against_the_memory():
    torch.manual_seed(1)
    objective = Objective(ObjectiveConfig(loss="triplet", miner="hard", xbm=32), 4, 3)
    codes = torch.arange(12) % 3
    first, second = torch.randn(12, 4), torch.randn(12, 4)
    objective(first, codes)
    loss, _ = objective(second, codes)
    from metrickit.miners import BatchHardMiner

    loss_fn = TripletMarginLoss(0.2)
    expected = loss_fn(second, codes, indices=BatchHardMiner()(second, codes)) + loss_fn(
        second, codes, indices=BatchHardMiner()(second, codes, first, codes), ref_embeddings=first, ref_labels=codes)
    assert loss.item() == pytest.approx(expected.item())


@pytest.mark.parametrize("settings", [dict(loss="contrastive"), dict(loss="triplet"), dict(loss="triplet", miner="hard"),
                                      dict(loss="multi-similarity"), dict(loss="supcon")])
def test_back_propagation_through_the_memory_survives_its_update(settings):
    torch.manual_seed(2)
    objective = Objective(ObjectiveConfig(xbm=16, **settings), 4, 3)
    codes = torch.arange(12) % 3
    for _ in range(3):  # the memory is overwritten in place after each loss; the loss must not depend on its storage
        embeddings = torch.nn.functional.normalize(torch.randn(12, 4), dim=1).requires_grad_(True)
        loss, _ = objective(embeddings, codes)
        loss.backward()
        assert torch.isfinite(embeddings.grad).all()


def test_the_memory_is_a_bounded_ring():
    memory = CrossBatchMemory(5, 2, warmup=2)
    memory.push(torch.zeros(3, 2), torch.tensor([0, 1, 2]))
    assert not memory.ready  # one batch pushed, warm-up is two
    memory.push(torch.ones(4, 2), torch.tensor([3, 4, 5, 6]))
    embeddings, labels = memory.references()
    assert memory.ready and labels.tolist() == [5, 6, 2, 3, 4] and embeddings.shape == (5, 2)
    memory.push(torch.full((7, 2), 2.0), torch.arange(7))  # larger than the memory: its last five
    assert sorted(memory.references()[1].tolist()) == [2, 3, 4, 5, 6]
    with pytest.raises(ValueError, match="`size` must be an integer >= 1"):
        CrossBatchMemory(0, 2)


def test_views_are_two_labelled_augmentations_of_each_image():
    torch.manual_seed(0)
    images = torch.rand(6, 1, 12, 12)
    views, labels = ImageViews()(images)
    assert views.shape == (12, 1, 12, 12) and labels.tolist() == [0, 1, 2, 3, 4, 5] * 2
    assert not torch.equal(views[:6], views[6:])  # two different views of each image
    with pytest.raises(ValueError, match="views need images"):
        ImageViews()(torch.rand(6, 10))


def test_ntxent_trains_on_views_of_images_and_is_refused_for_features(tmp_path):
    import numpy as np

    result = train(_config(loss="ntxent", epochs=3), quiet=True)
    assert all(np.isfinite(h["loss"]) for h in result.history) and result.model.embed(np.zeros((2, 64))).shape == (2, 8)
    np.savez(tmp_path / "f.npz", X=np.random.default_rng(0).normal(size=(60, 5)), y=np.arange(60) % 6)
    with pytest.raises(ValueError, match="learns from two augmented views of each image, and no view pipeline exists"):
        train(_config(loss="ntxent", dataset=str(tmp_path / "f.npz"), n_val_classes=0, train_classes=[0, 1, 2], test_classes=[3, 4, 5]),
              quiet=True)


@pytest.mark.parametrize("settings, message", [
    (dict(loss="arcface", xbm=100), r"`xbm` \(a cross-batch memory\) serves pair and triplet losses"),
    (dict(loss="supcon", margin=0.2), "loss 'supcon' has no `margin`"),
    (dict(loss="triplet", scale=2.0), "loss 'triplet' has no `scale`"),
    (dict(loss="contrastive", miner="hard"), "`miner` 'hard' does not apply to loss 'contrastive'"),
    (dict(loss="cosface", margin=2.0), r"cosface's `margin` is in cosine"),
    (dict(loss="triplet", xbm=-1), "`xbm` must be an integer >= 0"),
    (dict(loss="proxy-anchor", head_lr_scale=0.0), "`head_lr_scale` must be a finite number > 0"),
])
def test_bad_objective_settings_are_one_line_errors(settings, message):
    with pytest.raises(ValueError, match=message):
        ObjectiveConfig(**settings)
