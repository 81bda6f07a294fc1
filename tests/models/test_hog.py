"""The HOG embedder equals scikit-image's ``hog`` (the reference implementation), and carries a linear metric."""

import numpy as np
import pytest
import torch

from metrickit.models.embedding import HOG


@pytest.mark.parametrize("shape,orientations,cell,block", [((64, 64), 9, 8, 2), ((61, 50), 8, 6, 3), ((32, 40), 12, 4, 1)])
def test_hog_equals_scikit_image(shape, orientations, cell, block):
    skimage_feature = pytest.importorskip("skimage.feature")
    from scipy.ndimage import gaussian_filter

    rng = np.random.default_rng(0)
    noise = rng.integers(0, 256, size=(3, *shape)).astype(np.float64)
    # smooth images (no gradient lies exactly on a bin edge, where rounding decides the bin), a flat one, and, with
    # 20-degree bins (whose edges no integer gradient can hit), the noise itself
    images = np.concatenate([np.stack([gaussian_filter(image, 2) for image in noise]), np.zeros((1, *shape)), *([noise] if orientations == 9 else [])])
    reference = np.stack([skimage_feature.hog(image, orientations, (cell, cell), (block, block), "L2-Hys") for image in images])
    module = HOG(shape, orientations, cell, block)
    ours = module(torch.tensor(images[:, None], dtype=torch.float32)).numpy()
    assert ours.shape == reference.shape == (len(images), module.descriptor_dim)
    np.testing.assert_allclose(ours, reference, atol=1e-5)  # float32 against float64
    standardised = module(torch.tensor((images[:, None] / 255 - 0.4) / 0.2, dtype=torch.float32)).numpy()
    np.testing.assert_allclose(standardised[:3], reference[:3], atol=1e-5)  # orientations and block norms ignore the scale

def test_hog_with_an_affine_map_and_bad_settings():
    module = HOG((16, 16), 4, 4, 2)
    weight, bias = np.random.default_rng(1).normal(size=(3, module.descriptor_dim)), np.arange(3.0)
    mapped = HOG.with_affine(weight, bias, image_size=(16, 16), orientations=4, cell=4, block=2)
    x = torch.rand(5, 1, 16, 16)
    np.testing.assert_allclose(mapped(x).detach().numpy(), module(x).numpy() @ weight.T + bias, rtol=1e-5, atol=1e-5)
    assert mapped.embedding_dim == 3 and mapped.config["embedding_dim"] == 3
    rooted = HOG((16, 16), 4, 4, 2, root=True)
    np.testing.assert_allclose(rooted(x).numpy(), np.sqrt(module(x).numpy()), atol=1e-6)
    with pytest.raises(ValueError, match="takes 7 values"):
        HOG.with_affine(weight[:, :7], bias, image_size=(16, 16), orientations=4, cell=4, block=2)
    with pytest.raises(ValueError, match="a block needs 3 x 3 cells"):
        HOG((8, 8), 9, 4, 3)


def test_flip_average_is_mirror_invariant_and_round_trips(tmp_path):
    from metrickit.datasets.labeled import Preprocessing
    from metrickit.models.artifact import DeepMetricModel, load_deep_model, save_deep_model
    from metrickit.models.embedding import FlipAverage, build_embedder

    torch.manual_seed(0)
    inner = build_embedder("conv4", in_channels=1, width=4, image_size=(16, 16), embedding_dim=5).eval()
    module = FlipAverage.around(build_embedder("conv4", in_channels=1, width=4, image_size=(16, 16), embedding_dim=5, normalize=True))
    module.inner.load_state_dict(inner.state_dict())
    module.eval()
    assert module.normalize and not module.inner.normalize
    x = torch.rand(3, 1, 16, 16)
    with torch.no_grad():
        assert torch.allclose(module(x), module(x.flip(-1)), atol=1e-6)
        expected = torch.nn.functional.normalize((inner(x) + inner(x.flip(-1))) / 2, dim=1)
        assert torch.allclose(module(x), expected, atol=1e-6)
    save_deep_model(DeepMetricModel(module, Preprocessing("image", (1, 16, 16), 1 / 255)), tmp_path / "m.safetensors")
    loaded = load_deep_model(tmp_path / "m.safetensors")
    assert loaded.embedder.name == "flip-average"
    np.testing.assert_allclose(loaded.embed(x.numpy() * 255), module.embed(x.numpy()), atol=1e-6)
    with pytest.raises(ValueError, match="must not normalise"):
        FlipAverage("conv4", dict(in_channels=1, width=4, image_size=(16, 16), embedding_dim=5, normalize=True))
