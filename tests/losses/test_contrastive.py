import numpy as np
import pytest
import torch

from metrickit._types import PairIndices
from metrickit.losses import ContrastiveLoss, pair_indices, contrastive_loss
from tests._reference import contrastive_bruteforce


def _batch(seed=0, n=15, dim=3):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(n, dim, generator=g, dtype=torch.float64), torch.randint(0, 3, (n,), generator=g)


def test_per_pair_values_match_the_oracle():
    E, y = _batch()
    per_pair = ContrastiveLoss(margin=2.0, reduction="none")(E, y)
    np.testing.assert_allclose(per_pair.numpy(), contrastive_bruteforce(E.numpy(), y.numpy(), 2.0), rtol=1e-12)


@pytest.mark.parametrize("reduction", ["mean_nonzero", "mean", "sum"])
def test_reductions(reduction):
    E, y = _batch()
    losses = contrastive_bruteforce(E.numpy(), y.numpy(), 2.0)
    expected = {"sum": losses.sum(), "mean": losses.mean(), "mean_nonzero": losses[losses > 0].mean()}[reduction]
    assert ContrastiveLoss(2.0, reduction=reduction)(E, y).item() == pytest.approx(expected, rel=1e-12)


def test_formula_on_one_positive_and_one_negative_pair():
    d = torch.tensor([0.5, 0.3, 1.5])
    same = torch.tensor([True, False, False])
    # 0.5^2 = 0.25; (1 - 0.3)^2 = 0.49; a negative beyond the margin costs nothing.
    torch.testing.assert_close(contrastive_loss(d, same, 1.0, "none"), torch.tensor([0.25, 0.49, 0.0]))


def test_all_pairs_within_a_batch_are_unordered_and_against_a_reference_are_all():
    y = torch.tensor([0, 0, 1])
    pairs = pair_indices(y)
    assert list(zip(pairs.pos_anchor.tolist(), pairs.positive.tolist())) == [(0, 1)]
    assert list(zip(pairs.neg_anchor.tolist(), pairs.negative.tolist())) == [(0, 2), (1, 2)]
    ref = pair_indices(y, torch.tensor([1, 0]))
    assert len(ref.pos_anchor) == 3 and len(ref.neg_anchor) == 3


def test_coincident_negative_pair_has_a_finite_gradient():
    E = torch.tensor([[1.0, 1.0], [1.0, 1.0]], requires_grad=True)
    loss = ContrastiveLoss(1.0)(E, torch.tensor([0, 1]))
    loss.backward()
    assert loss.item() == pytest.approx(1.0)
    assert torch.isfinite(E.grad).all()


def test_explicit_pairs_and_reference_set():
    E, y = _batch()
    R, ry = _batch(seed=1, n=6)
    pairs = PairIndices(torch.tensor([0]), torch.tensor([2]), torch.tensor([1]), torch.tensor([3]))
    loss = ContrastiveLoss(1.0, reduction="none")(E, indices=pairs, ref_embeddings=R)
    d_pos = torch.linalg.norm(E[0] - R[2])
    d_neg = torch.linalg.norm(E[1] - R[3])
    torch.testing.assert_close(loss, torch.stack([d_pos**2, torch.relu(1.0 - d_neg) ** 2]))


@pytest.mark.parametrize("reduction", ["mean_nonzero", "mean", "sum"])
@pytest.mark.parametrize("with_reference", [False, True])
def test_fused_all_pairs_equal_the_listed_pairs_in_value_and_gradient(reduction, with_reference):
    E, y = _batch(n=20)
    R, ry = _batch(seed=2, n=9)
    ref = dict(ref_embeddings=R.clone().requires_grad_(True), ref_labels=ry) if with_reference else {}
    listed_ref = dict(ref_embeddings=R.clone().requires_grad_(True)) if with_reference else {}
    fused_input, listed_input = E.clone().requires_grad_(True), E.clone().requires_grad_(True)
    loss = ContrastiveLoss(1.5, reduction=reduction)
    fused = loss(fused_input, y, **ref)
    active = loss.active_fraction
    pairs = pair_indices(y, ry if with_reference else None)
    listed = ContrastiveLoss(1.5, reduction=reduction)(listed_input, indices=pairs, **listed_ref)
    (fused + 0).backward()
    listed.backward()
    torch.testing.assert_close(fused, listed, rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(fused_input.grad, listed_input.grad, rtol=1e-10, atol=1e-12)
    if with_reference:
        torch.testing.assert_close(ref["ref_embeddings"].grad, listed_ref["ref_embeddings"].grad, rtol=1e-10, atol=1e-12)
    assert active == loss.active_fraction and 0 < active <= 1


def test_fused_all_pairs_pass_gradcheck():
    E, y = _batch(n=10)
    loss = ContrastiveLoss(1.5)
    assert torch.autograd.gradcheck(lambda x: loss(x, y), (E.requires_grad_(True),))


def test_fused_all_pairs_on_duplicates_count_no_zero_losses():
    # points 0 and 1 coincide (same label: loss 0, not counted); 2 is a negative at distance 0.6 < margin 1
    E = torch.tensor([[0.0, 0.0], [0.0, 0.0], [0.6, 0.0]], dtype=torch.float64, requires_grad=True)
    loss = ContrastiveLoss(1.0)(E, torch.tensor([0, 0, 1]))
    assert loss.item() == pytest.approx(0.4**2)  # two active negative pairs of (1 - 0.6)^2, averaged
    loss.backward()
    # d/dx_2 of (1 - |x_2 - x_i|)^2 is -2 (1 - d) (x_2 - x_i) / d = (-0.8, 0) per pair; two pairs, averaged
    torch.testing.assert_close(E.grad[2], torch.tensor([-0.8, 0.0], dtype=torch.float64))
