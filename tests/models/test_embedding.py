import numpy as np
import pytest
import torch

from metrickit.models import MLP, Conv4, LinearEmbedder, Pixels, SiameseNetwork, SmallResNet, build_embedder


@pytest.mark.parametrize(
    "model, shape, dim",
    [
        (MLP(10, (16,), 8), (5, 10), 8),
        (Conv4(), (5, 1, 28, 28), 64),
        (Conv4(3, 32, (84, 84)), (2, 3, 84, 84), 32 * 5 * 5),
        (Conv4(embedding_dim=16), (3, 1, 28, 28), 16),
        (SmallResNet(1, (8, 16), 12), (4, 1, 32, 32), 12),
    ],
)
def test_shapes_and_embedding_dim(model, shape, dim):
    out = model(torch.randn(*shape))
    assert out.shape == (shape[0], dim) == (shape[0], model.embedding_dim)


def test_normalized_output_lies_on_the_unit_sphere():
    model = MLP(6, (8,), 4, normalize=True)
    out = model(torch.randn(7, 6))
    torch.testing.assert_close(out.norm(dim=1), torch.ones(7))


def test_embed_uses_eval_mode_batches_without_grad_and_restores_training():
    torch.manual_seed(0)
    model = Conv4(embedding_dim=8)
    model.train()
    x = torch.randn(10, 1, 28, 28)
    emb = model.embed(x, batch_size=3)
    assert model.training and not emb.requires_grad
    model.eval()
    torch.testing.assert_close(emb, model(x).detach())  # running statistics, so batching does not matter
    as_array = model.embed(x.numpy(), batch_size=3)  # numpy in, numpy out, same values for the same batches
    assert isinstance(as_array, np.ndarray)
    np.testing.assert_array_equal(as_array, emb.numpy())


def test_config_rebuilds_the_same_architecture():
    model = SmallResNet(1, (8, 16), 12, normalize=True)
    clone = build_embedder(model.name, **model.config)
    clone.load_state_dict(model.state_dict())
    model.eval(), clone.eval()
    x = torch.randn(2, 1, 16, 16)
    torch.testing.assert_close(model(x), clone(x))


def test_unknown_architecture_and_tiny_images_are_refused():
    with pytest.raises(ValueError, match="`architecture` must be one of 'pixels', 'linear', 'histogram', 'mlp', 'conv4', 'resnet', 'hog', 'flip-average'; got 'vgg'."):
        build_embedder("vgg")
    with pytest.raises(ValueError, match=r"`image_size` \(8, 8\) is too small"):
        Conv4(image_size=(8, 8))


def test_pixels_and_affine_embedders_compute_what_they_say():
    x = np.random.default_rng(0).normal(size=(5, 1, 3, 4)).astype(np.float32)
    np.testing.assert_array_equal(Pixels(12).embed(x), x.reshape(5, 12))  # no parameters, still batched in eval mode
    weight, bias = np.random.default_rng(1).normal(size=(2, 12)), np.array([1.0, -2.0])
    linear = LinearEmbedder.from_affine(weight, bias)
    np.testing.assert_allclose(linear.embed(x), x.reshape(5, 12) @ weight.T + bias, rtol=1e-5, atol=1e-5)
    clone = build_embedder(linear.name, **linear.config)
    clone.load_state_dict(linear.state_dict())
    np.testing.assert_array_equal(clone.embed(x), linear.embed(x))


def test_siamese_distance_is_symmetric_and_shares_weights():
    torch.manual_seed(0)
    net = SiameseNetwork(MLP(5, (8,), 3)).eval()
    a, b = torch.randn(6, 5), torch.randn(6, 5)
    torch.testing.assert_close(net(a, b), net(b, a))
    torch.testing.assert_close(net(a, a), torch.zeros(6), atol=1e-6, rtol=0)  # rows of one batch may round differently
    assert len(list(net.parameters())) == len(list(net.embedder.parameters()))


def test_siamese_refuses_mismatched_pairs():
    net = SiameseNetwork(MLP(5, (8,), 3))
    with pytest.raises(ValueError, match=r"same shape; got \(2, 5\) and \(3, 5\)"):
        net(torch.randn(2, 5), torch.randn(3, 5))
