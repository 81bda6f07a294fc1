import numpy as np
import pytest
import torch

from metrickit._types import PairIndices
from metrickit.losses import ContrastiveLoss, all_pairs, contrastive_loss
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
    pairs = all_pairs(y)
    assert list(zip(pairs.pos_anchor.tolist(), pairs.positive.tolist())) == [(0, 1)]
    assert list(zip(pairs.neg_anchor.tolist(), pairs.negative.tolist())) == [(0, 2), (1, 2)]
    ref = all_pairs(y, torch.tensor([1, 0]))
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
