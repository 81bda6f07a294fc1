"""Losses that own a class head: their settings are checked, their head is a classifier, and the laws that tie them hold."""

import math

import pytest
import torch

from metrickit.losses import ArcFaceLoss, CosFaceLoss, ProxyAnchorLoss, SoftmaxLoss, SubCenterArcFaceLoss, margin_softmax_loss


def _batch(seed=0, n=32, n_classes=5, dim=8):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(n, dim, generator=g, dtype=torch.float64), torch.randint(0, n_classes, (n,), generator=g)


@pytest.mark.parametrize("cls", [ArcFaceLoss, CosFaceLoss])
def test_without_a_margin_both_are_the_normalised_softmax(cls):
    E, y = _batch()
    loss = cls(5, 8, margin=0.0, scale=10.0).double()
    expected = torch.nn.functional.cross_entropy(loss.logits(E), y)
    assert loss(E, y).item() == pytest.approx(expected.item(), rel=1e-12)


def test_a_margin_only_raises_the_loss_and_arcface_at_small_angles_matches_its_formula():
    E, y = _batch(1)
    plain = ArcFaceLoss(5, 8, margin=0.0, scale=10.0).double()
    with_margin = ArcFaceLoss(5, 8, margin=0.4, scale=10.0).double()
    with_margin.weight.data = plain.weight.data.clone()
    assert with_margin(E, y).item() > plain(E, y).item()
    cos = torch.tensor([[0.9, 0.1]], dtype=torch.float64)
    logits = torch.tensor([[10 * math.cos(math.acos(0.9) + 0.4), 1.0]], dtype=torch.float64)
    expected = torch.nn.functional.cross_entropy(logits, torch.tensor([0]))
    assert margin_softmax_loss(cos, torch.tensor([0]), 0.4, 10.0, "arcface").item() == pytest.approx(expected.item(), rel=1e-12)


def test_one_sub_center_is_arcface():
    E, y = _batch(2)
    sub = SubCenterArcFaceLoss(5, 8, margin=0.3, scale=12.0, sub_centers=1).double()
    arc = ArcFaceLoss(5, 8, margin=0.3, scale=12.0).double()
    arc.weight.data = sub.weight.data.clone()
    assert sub(E, y).item() == pytest.approx(arc(E, y).item(), rel=1e-12)


def test_a_class_takes_its_closest_sub_center():
    loss = SubCenterArcFaceLoss(2, 2, sub_centers=2).double()
    loss.weight.data = torch.tensor([[1.0, 0.0], [0.0, 1.0], [-1.0, 0.0], [0.0, -1.0]], dtype=torch.float64)  # class 0: rows 0-1
    cos = loss.cosines(torch.tensor([[0.0, 2.0]], dtype=torch.float64))
    torch.testing.assert_close(cos, torch.tensor([[1.0, 0.0]], dtype=torch.float64))


@pytest.mark.parametrize("make", [lambda: ArcFaceLoss(5, 8), lambda: CosFaceLoss(5, 8), lambda: ProxyAnchorLoss(5, 8)])
def test_the_head_classifies_and_learns(make):
    torch.manual_seed(0)
    centres = torch.randn(5, 8) * 3
    y = torch.arange(100) % 5
    X = centres[y] + torch.randn(100, 8)
    loss = make()
    assert loss.logits(X).shape == (100, 5)
    optimizer = torch.optim.Adam(loss.parameters(), lr=0.05)
    first = None
    for _ in range(60):
        value = loss(X, y)
        first = value.item() if first is None else first
        optimizer.zero_grad()
        value.backward()
        optimizer.step()
    assert value.item() < first  # seeded smoke check: only the head trains, the loss falls
    assert loss.logits(X).shape == (100, 5)


def test_proxy_anchor_proxies_learn_faster():
    assert ProxyAnchorLoss.learning_rate_scale == 100.0 and ArcFaceLoss.learning_rate_scale == 1.0


@pytest.mark.parametrize("make, message", [
    (lambda: ArcFaceLoss(5, 8, margin=28.6), r"arcface's `margin` is in radians .*, in \[0, 1.571\) \(default 0.5\); got 28.6"),
    (lambda: CosFaceLoss(5, 8, margin=1.5), r"cosface's `margin` is in cosine"),
    (lambda: ArcFaceLoss(5, 8, scale=0.0), r"`scale` must be a finite number > 0"),
    (lambda: ProxyAnchorLoss(5, 8, margin=-0.1), r"proxy-anchor's `margin` is in cosine"),
    (lambda: ProxyAnchorLoss(5, 8, alpha=float("inf")), r"`alpha` must be a finite number > 0"),
    (lambda: ArcFaceLoss(1, 8), r"`n_classes` must be at least 2"),
    (lambda: SubCenterArcFaceLoss(5, 8, sub_centers=0), r"`per_class` must be an integer >= 1"),
])
def test_bad_settings_are_named(make, message):
    with pytest.raises(ValueError, match=message):
        make()


def test_labels_must_fit_the_heads_classes_and_embeddings_its_dimension():
    loss = ArcFaceLoss(3, 4)
    with pytest.raises(ValueError, match=r"class codes in \[0, 3\) for this loss's 3 classes; got codes from 0 to 5"):
        loss(torch.randn(4, 4), torch.tensor([0, 1, 2, 5]))
    with pytest.raises(ValueError, match="has embedding_dim 6 but 4 was expected"):
        loss(torch.randn(4, 6), torch.tensor([0, 1, 2, 1]))


@pytest.mark.parametrize("make", [lambda: ArcFaceLoss(3, 4), lambda: CosFaceLoss(3, 4), lambda: SubCenterArcFaceLoss(3, 4),
                                  lambda: ProxyAnchorLoss(3, 4)])
def test_non_finite_embeddings_are_named_from_the_loss(make):
    embeddings = torch.randn(4, 4)
    embeddings[1, 2] = float("nan")
    with pytest.raises(ValueError, match="`embeddings` must be finite; found 1 NaN"):
        make()(embeddings, torch.tensor([0, 1, 2, 1]))


@pytest.mark.parametrize("n_classes", [3, 20])  # fewer class vectors than dimensions, and more
def test_the_heads_cosines_equal_those_of_normalised_vectors_and_a_zero_embedding_has_none(n_classes):
    loss = SubCenterArcFaceLoss(n_classes, 8, sub_centers=2).double()
    embeddings = torch.randn(5, 8, dtype=torch.float64)
    embeddings[0] = 0.0
    expected = torch.nn.functional.normalize(embeddings, dim=1) @ torch.nn.functional.normalize(loss.weight, dim=1).T
    torch.testing.assert_close(loss.cosines(embeddings), expected.view(5, n_classes, 2).amax(2))
    assert loss.cosines(embeddings)[0].abs().max() == 0.0


@pytest.mark.parametrize("make", [lambda: ArcFaceLoss(4, 6), lambda: CosFaceLoss(4, 6), lambda: SubCenterArcFaceLoss(4, 6),
                                  lambda: ProxyAnchorLoss(4, 6), lambda: SoftmaxLoss(4, 6)])
def test_a_head_records_the_accuracy_its_logits_give_on_the_batch_it_scored(make):
    torch.manual_seed(3)
    loss, embeddings, labels = make(), torch.randn(40, 6), torch.randint(0, 4, (40,))
    loss(embeddings, labels)
    expected = float((loss.logits(embeddings).argmax(1) == labels).float().mean())
    assert loss.accuracy == pytest.approx(expected) and 0.0 < expected < 1.0


@pytest.mark.parametrize("rule,margin,sub_centers", [("arcface", 0.5, 1), ("cosface", 0.35, 1), ("arcface", 0.5, 3), ("arcface", 2.5, 2)])
def test_the_fused_head_equals_autograd_through_its_formula_in_value_and_both_gradients(rule, margin, sub_centers):
    """The hand-written backward pass against autograd through the cosines and margin_softmax_loss; margin 2.5 rad puts
    targets past pi - m (the linear branch), and sub-centres route each gradient to the chosen vector only."""
    from metrickit.losses.functional import fused_margin_softmax_loss

    E, y = _batch(3, n=40, n_classes=6, dim=5)
    E[0] = y[0] * 0.0  # a zero embedding: cosine 0 with every class, no gradient
    weight = torch.randn(6 * sub_centers, 5, dtype=torch.float64, generator=torch.Generator().manual_seed(4))
    E[2] = 2.0 * weight[y[2] * sub_centers]  # at (or within rounding of) its class vector: cos = 1, where sin has no slope
    for reduction in ("mean", "sum", "none"):
        a, wa = E.clone().requires_grad_(True), weight.clone().requires_grad_(True)
        unit = torch.nn.functional.normalize(wa, dim=1)
        norms = torch.linalg.vector_norm(a, dim=1, keepdim=True)
        cos = torch.where(norms > 0, a @ unit.T / norms.clamp_min(1e-12), 0.0)
        cos = cos.view(len(a), 6, sub_centers).amax(2)
        expected = margin_softmax_loss(cos, y, margin, 7.0, rule, reduction)
        b, wb = E.clone().requires_grad_(True), weight.clone().requires_grad_(True)
        stats = {}
        got = fused_margin_softmax_loss(b, wb, y, margin, 7.0, rule, sub_centers, reduction, stats)
        torch.testing.assert_close(got, expected, rtol=1e-12, atol=1e-12)
        upstream = torch.linspace(0.5, 1.5, got.numel(), dtype=torch.float64).view_as(got)
        (expected * upstream).sum().backward()
        (got * upstream).sum().backward()
        torch.testing.assert_close(b.grad, a.grad, rtol=1e-10, atol=1e-12)
        torch.testing.assert_close(wb.grad, wa.grad, rtol=1e-10, atol=1e-12)
        assert b.grad[0].abs().max() == 0.0
        assert stats["accuracy"] == pytest.approx(float((cos.argmax(1) == y).double().mean()))
    assert torch.autograd.gradcheck(lambda e, w: fused_margin_softmax_loss(e, w, y[3:], margin, 7.0, rule, sub_centers),
                                    (E[3:].clone().requires_grad_(True), weight.clone().requires_grad_(True)))  # smooth points only
