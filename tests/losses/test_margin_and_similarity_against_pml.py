"""ArcFace, CosFace, sub-center ArcFace, Proxy-Anchor, Multi-Similarity (and its miner), SupCon and NT-Xent equal
pytorch-metric-learning 2.9 configured alike with non-default settings, in float64: values and gradients (of the
embeddings and of the loss's own parameters, copied across) to 1e-5 relative.

PML's conventions: ArcFace's margin is in degrees and its weight matrix is (embedding_dim, n_classes); sub-center
ArcFace's columns are class-major (class c's sub-centers are columns c*K .. c*K + K-1).
"""

import math

import pytest
import torch

pytest.importorskip("pytorch_metric_learning", reason="pytorch-metric-learning is a dev (test-only) dependency")
from pytorch_metric_learning import losses as pml_losses  # noqa: E402
from pytorch_metric_learning import miners as pml_miners  # noqa: E402

from metrickit.losses import (  # noqa: E402
    ArcFaceLoss,
    CosFaceLoss,
    MultiSimilarityLoss,
    NTXentLoss,
    ProxyAnchorLoss,
    SubCenterArcFaceLoss,
    SupConLoss,
)
from metrickit.miners import MultiSimilarityMiner  # noqa: E402

REL = 1e-5


def _batch(seed, n=48, n_classes=6, dim=12):
    g = torch.Generator().manual_seed(seed)
    embeddings = torch.randn(n, dim, generator=g, dtype=torch.float64)
    labels = torch.randint(0, n_classes, (n,), generator=g)
    return embeddings, labels


def _value_and_grads(loss_fn, embeddings, labels, params=(), **kwargs):
    E = embeddings.clone().requires_grad_(True)
    value = loss_fn(E, labels, **kwargs)
    grads = torch.autograd.grad(value, [E, *params])
    return value.detach(), grads


def _assert_close(ours, theirs, transposed_weight=False):
    (v1, g1), (v2, g2) = ours, theirs
    if transposed_weight:  # PML stores the class weights as (embedding_dim, n_classes)
        g2 = (g2[0], g2[1].T)
    assert v1.item() == pytest.approx(v2.item(), rel=REL, abs=1e-12)
    for a, b in zip(g1, g2):
        torch.testing.assert_close(a, b, rtol=REL, atol=1e-10)


@pytest.mark.parametrize("seed", [0, 1])
def test_arcface_equals_pml_with_the_margin_in_degrees(seed):
    E, y = _batch(seed)
    ours = ArcFaceLoss(6, 12, margin=0.3, scale=20.0).double()
    theirs = pml_losses.ArcFaceLoss(num_classes=6, embedding_size=12, margin=math.degrees(0.3), scale=20.0)
    theirs.W.data = ours.weight.detach().T.clone()
    _assert_close(_value_and_grads(ours, E, y, [ours.weight]), _value_and_grads(theirs, E, y, [theirs.W]), transposed_weight=True)
    torch.testing.assert_close(ours.logits(E), theirs.get_logits(E), rtol=REL, atol=1e-10)


def test_arcface_past_pi_minus_margin_stays_decreasing_as_pml_has_it():
    E = torch.tensor([[1.0, 0.2], [-1.0, 0.05], [0.1, 1.0]], dtype=torch.float64)  # sample 1 nearly opposite its class
    y = torch.tensor([0, 0, 1])
    ours = ArcFaceLoss(2, 2, margin=1.2, scale=8.0).double()
    ours.weight.data = torch.tensor([[1.0, 0.0], [0.0, 1.0]], dtype=torch.float64)
    theirs = pml_losses.ArcFaceLoss(num_classes=2, embedding_size=2, margin=math.degrees(1.2), scale=8.0)
    theirs.W.data = ours.weight.detach().T.clone()
    _assert_close(_value_and_grads(ours, E, y, [ours.weight]), _value_and_grads(theirs, E, y, [theirs.W]), transposed_weight=True)


def test_arcface_gradient_is_finite_where_an_embedding_lies_on_its_class_vector():
    E = torch.tensor([[1.0, 0.0], [0.0, 1.0]], dtype=torch.float64, requires_grad=True)  # cos = 1: PML's acos gives NaN
    loss = ArcFaceLoss(2, 2, margin=0.5, scale=8.0).double()
    loss.weight.data = torch.eye(2, dtype=torch.float64)
    loss(E, torch.tensor([0, 1])).backward()
    assert torch.isfinite(E.grad).all() and torch.isfinite(loss.weight.grad).all()


def test_cosface_equals_pml():
    E, y = _batch(2)
    ours = CosFaceLoss(6, 12, margin=0.25, scale=30.0).double()
    theirs = pml_losses.CosFaceLoss(num_classes=6, embedding_size=12, margin=0.25, scale=30.0)
    theirs.W.data = ours.weight.detach().T.clone()
    _assert_close(_value_and_grads(ours, E, y, [ours.weight]), _value_and_grads(theirs, E, y, [theirs.W]), transposed_weight=True)


def test_subcenter_arcface_equals_pml():
    E, y = _batch(3)
    ours = SubCenterArcFaceLoss(6, 12, margin=0.4, scale=16.0, sub_centers=2).double()
    theirs = pml_losses.SubCenterArcFaceLoss(num_classes=6, embedding_size=12, margin=math.degrees(0.4), scale=16.0, sub_centers=2)
    theirs.W.data = ours.weight.detach().T.clone()
    _assert_close(_value_and_grads(ours, E, y, [ours.weight]), _value_and_grads(theirs, E, y, [theirs.W]), transposed_weight=True)
    torch.testing.assert_close(ours.logits(E), theirs.get_logits(E), rtol=REL, atol=1e-10)


@pytest.mark.parametrize("n_classes", [6, 9])  # 9: some proxies have no sample in the batch
def test_proxy_anchor_equals_pml(n_classes):
    E, y = _batch(4, n_classes=6)
    ours = ProxyAnchorLoss(n_classes, 12, margin=0.2, alpha=16.0).double()
    theirs = pml_losses.ProxyAnchorLoss(num_classes=n_classes, embedding_size=12, margin=0.2, alpha=16.0)
    theirs.proxies.data = ours.proxies.detach().clone()
    _assert_close(_value_and_grads(ours, E, y, [ours.proxies]), _value_and_grads(theirs, E, y, [theirs.proxies]))


def test_multi_similarity_loss_and_miner_equal_pml():
    E, y = _batch(5)
    ours_miner, theirs_miner = MultiSimilarityMiner(epsilon=0.2), pml_miners.MultiSimilarityMiner(epsilon=0.2)
    mined, pml_mined = ours_miner(E, y), theirs_miner(E, y)
    as_set = lambda a, b: set(zip(a.tolist(), b.tolist()))  # noqa: E731
    assert as_set(mined.pos_anchor, mined.positive) == as_set(pml_mined[0], pml_mined[1])
    assert as_set(mined.neg_anchor, mined.negative) == as_set(pml_mined[2], pml_mined[3])
    ours = MultiSimilarityLoss(alpha=3.0, beta=40.0, base=0.3)
    theirs = pml_losses.MultiSimilarityLoss(alpha=3.0, beta=40.0, base=0.3)
    _assert_close(_value_and_grads(ours, E, y), _value_and_grads(theirs, E, y))  # every pair
    _assert_close(_value_and_grads(ours, E, y, indices=mined),
                  _value_and_grads(lambda e, lab, indices: theirs(e, lab, tuple(indices)), E, y, indices=pml_mined))


def test_multi_similarity_against_a_reference_set_equals_pml():
    E, y = _batch(6)
    R, r = _batch(7, n=30)
    ours = MultiSimilarityLoss(alpha=2.5, beta=30.0, base=0.4)
    theirs = pml_losses.MultiSimilarityLoss(alpha=2.5, beta=30.0, base=0.4)
    _assert_close(_value_and_grads(lambda e, lab: ours(e, lab, ref_embeddings=R, ref_labels=r), E, y),
                  _value_and_grads(lambda e, lab: theirs(e, lab, ref_emb=R, ref_labels=r), E, y))


def test_supcon_equals_pml():
    E, y = _batch(8)
    _assert_close(_value_and_grads(SupConLoss(temperature=0.2), E, y), _value_and_grads(pml_losses.SupConLoss(temperature=0.2), E, y))


def test_ntxent_with_two_views_equals_pml():
    E, _ = _batch(9, n=32)
    views = torch.arange(16).repeat(2)  # two views of 16 images, labelled by the image
    _assert_close(_value_and_grads(NTXentLoss(temperature=0.3), E, views),
                  _value_and_grads(pml_losses.NTXentLoss(temperature=0.3), E, views))


def test_ntxent_with_several_positives_equals_pml():
    E, y = _batch(10)
    _assert_close(_value_and_grads(NTXentLoss(temperature=0.15), E, y), _value_and_grads(pml_losses.NTXentLoss(temperature=0.15), E, y))
