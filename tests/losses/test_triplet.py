import numpy as np
import pytest
import torch

from metrickit._types import TripletIndices
from metrickit.losses import TripletMarginLoss, fused_triplet_loss
from metrickit.miners import BatchAllMiner, SemiHardMiner
from metrickit.miners._indices import label_masks
from tests._reference import triplets_bruteforce


def _batch(seed=0, n=24, dim=5, n_classes=4, dtype=torch.float64):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(n, dim, generator=g, dtype=dtype), torch.randint(0, n_classes, (n,), generator=g)


@pytest.mark.parametrize("squared, expected", [(False, 0.1), (True, 0.09)])
def test_worked_example(squared, expected):
    # d(a,p) = 0.5, d(a,n) = 0.6, alpha = 0.2: 0.5 - 0.6 + 0.2 = 0.1, or 0.25 - 0.36 + 0.2 = 0.09 squared.
    embeddings = torch.tensor([[0.0, 0.0], [0.5, 0.0], [0.0, 0.6]], requires_grad=True)
    indices = TripletIndices(torch.tensor([0]), torch.tensor([1]), torch.tensor([2]))
    loss = TripletMarginLoss(0.2, squared=squared)(embeddings, indices=indices)
    assert loss.item() == pytest.approx(expected, abs=1e-6)


@pytest.mark.parametrize("squared", [False, True])
def test_satisfied_triplet_gives_zero_loss_and_zero_gradient(squared):
    embeddings = torch.tensor([[0.0, 0.0], [0.5, 0.0], [0.0, 0.8]], requires_grad=True)
    indices = TripletIndices(torch.tensor([0]), torch.tensor([1]), torch.tensor([2]))
    loss = TripletMarginLoss(0.2, squared=squared)(embeddings, indices=indices)
    loss.backward()
    assert loss.item() == 0.0
    assert torch.count_nonzero(embeddings.grad) == 0


@pytest.mark.parametrize("squared", [True, False])
@pytest.mark.parametrize("rule", ["all", "semihard"])
@pytest.mark.parametrize("reduction", ["mean_nonzero", "mean", "sum"])
def test_fused_loss_matches_loops(squared, rule, reduction):
    E, y = _batch()
    margin = 0.8 if squared else 0.3
    listed, losses = triplets_bruteforce(E.numpy(), y.numpy(), margin, rule, squared)
    expected = {"sum": losses.sum(), "mean": losses.mean(), "mean_nonzero": losses[losses > 0].mean()}[reduction]
    loss = TripletMarginLoss(margin, squared=squared, triplets=rule, reduction=reduction)
    assert float(loss(E, y)) == pytest.approx(expected, rel=1e-10)


@pytest.mark.parametrize("reduction", ["sum", "mean", "mean_nonzero"])
def test_zero_width_band_gives_no_loss_and_no_gradient(reduction):
    # d(a, p) = d(a, n) = 1 with margin 0: the band 0 < d(a, n) - d(a, p) <= 0 is empty.
    embeddings = torch.tensor([[0.0, 0.0], [1.0, 0.0], [-1.0, 0.0]], requires_grad=True)
    loss = TripletMarginLoss(0.0, triplets="semihard", reduction=reduction)(embeddings, torch.tensor([0, 0, 1]))
    loss.backward()
    assert loss.item() == 0.0
    assert torch.count_nonzero(embeddings.grad) == 0


def _grid_batch(seed=0, n=30, dtype=torch.float64):
    """Integer points: exact distances and many ties, so boundary rules are tested, not rounded away."""
    g = torch.Generator().manual_seed(seed)
    return torch.randint(-2, 3, (n, 2), generator=g).to(dtype), torch.randint(0, 3, (n,), generator=g)


@pytest.mark.parametrize("margin", [0.0, 1e-20, 1.0, 2.0, 0.3])
@pytest.mark.parametrize("squared", [True, False])
@pytest.mark.parametrize("rule, miner", [("semihard", SemiHardMiner), ("all", BatchAllMiner)])
@pytest.mark.parametrize("reduction", ["sum", "mean", "mean_nonzero"])
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_fused_path_selects_exactly_the_miners_triplets(margin, squared, rule, miner, reduction, dtype):
    E, y = _grid_batch(dtype=dtype)
    indices = miner(margin, squared=squared)(E, y)
    fused_input, listed_input = E.clone().requires_grad_(True), E.clone().requires_grad_(True)
    fused = TripletMarginLoss(margin, squared=squared, triplets=rule, reduction=reduction)
    fused_loss = fused(fused_input, y)
    per_triplet = TripletMarginLoss(margin, squared=squared, reduction="none")(listed_input, indices=indices)
    if rule == "all" and reduction == "mean":  # batch-all averages over every valid triplet, violating or not
        _, every = triplets_bruteforce(E.double().numpy(), y.numpy(), margin, "all", squared)
        listed_loss = per_triplet.sum() / len(every)
    else:
        listed_loss = TripletMarginLoss(margin, squared=squared, reduction=reduction)(listed_input, indices=indices)
    fused_loss.backward()
    listed_loss.backward()
    if rule == "semihard":
        assert fused.active_fraction == (int((per_triplet > 0).sum()) / len(per_triplet) if len(per_triplet) else 0.0)
    tolerance = {"rtol": 2e-5, "atol": 2e-4} if dtype == torch.float32 else {}  # float32 sums of a few hundred terms
    torch.testing.assert_close(fused_loss, listed_loss, **tolerance)
    torch.testing.assert_close(fused_input.grad, listed_input.grad, **tolerance)


@pytest.mark.parametrize("rule, miner", [("semihard", SemiHardMiner), ("all", BatchAllMiner)])
def test_fused_path_matches_the_miner_when_the_margin_is_a_difference_in_the_batch(rule, miner):
    # A margin equal to some rounded d(a, n) - d(a, p) puts triplets exactly on the boundary.
    from metrickit.distances.tensor import pairwise_squared_distances

    E, y = _batch(n=16, dtype=torch.float32)
    D = pairwise_squared_distances(E)
    masks = label_masks(y)
    p, n = int(masks.positive[0].nonzero()[0]), int(masks.negative[0].nonzero()[0])
    margin = abs(float(D[0, n] - D[0, p]))
    indices = miner(margin)(E, y)
    per_triplet = TripletMarginLoss(margin, reduction="none")(E, indices=indices)
    fused = TripletMarginLoss(margin, triplets=rule, reduction="sum")
    loss = fused(E, y)
    if rule == "semihard":
        assert fused.active_fraction == int((per_triplet > 0).sum()) / len(per_triplet)
    torch.testing.assert_close(loss, per_triplet.sum(), rtol=1e-5, atol=1e-5)


def test_fused_loss_gradient_matches_listed_triplets():
    E, y = _batch(n=20)
    listed, _ = triplets_bruteforce(E.numpy(), y.numpy(), 0.5, "all")
    indices = TripletIndices(*(torch.tensor(column) for column in zip(*listed)))
    fused_input = E.clone().requires_grad_(True)
    listed_input = E.clone().requires_grad_(True)
    TripletMarginLoss(0.5)(fused_input, y).backward()
    TripletMarginLoss(0.5)(listed_input, indices=indices).backward()
    torch.testing.assert_close(fused_input.grad, listed_input.grad, rtol=1e-9, atol=1e-12)


def test_fused_loss_passes_gradcheck():
    E, y = _batch(n=12, dim=3)
    masks = label_masks(y)

    def f(x):
        d2 = ((x[:, None, :] - x[None, :, :]) ** 2).sum(-1)
        return fused_triplet_loss(d2, masks, 0.5, "all", "mean_nonzero")

    assert torch.autograd.gradcheck(f, (E.requires_grad_(True),))


def test_reference_set_uses_every_match_as_positive():
    E, y = _batch(n=10)
    R, ry = _batch(seed=1, n=14)
    listed, losses = triplets_bruteforce(E.numpy(), y.numpy(), 0.5, "all", R=R.numpy(), ry=ry.numpy())
    loss = TripletMarginLoss(0.5, reduction="sum")(E, y, ref_embeddings=R, ref_labels=ry)
    assert loss.item() == pytest.approx(losses.sum(), rel=1e-10)


def test_no_valid_triplets_gives_zero_that_backpropagates():
    E = torch.randn(5, 3, requires_grad=True)
    loss = TripletMarginLoss()(E, torch.zeros(5, dtype=torch.int64))  # one class: no negatives
    loss.backward()
    assert loss.item() == 0.0 and E.grad is not None


def test_none_reduction_is_aligned_with_indices():
    E, y = _batch()
    indices = SemiHardMiner(0.8)(E, y)
    per_triplet = TripletMarginLoss(0.8, reduction="none")(E, indices=indices)
    assert per_triplet.shape == (len(indices),)
    d = lambda a, b: ((E[a] - E[b]) ** 2).sum(1)  # noqa: E731
    torch.testing.assert_close(per_triplet, torch.relu(d(indices.anchor, indices.positive) - d(indices.anchor, indices.negative) + 0.8))


def test_none_reduction_without_indices_is_refused():
    E, y = _batch()
    with pytest.raises(ValueError, match="reduction='none' needs explicit triplets"):
        TripletMarginLoss(reduction="none")(E, y)


@pytest.mark.parametrize(
    "kwargs, error, message",
    [
        ({"margin": -1.0}, ValueError, "`margin` must be a finite number >= 0; got -1.0."),
        ({"triplets": "hard"}, ValueError, "`triplets` must be 'all' or 'semihard'; got 'hard'."),
        ({"reduction": "avg"}, ValueError, "`reduction` must be one of"),
    ],
)
def test_bad_parameters_are_named(kwargs, error, message):
    with pytest.raises(error, match=message.replace("(", r"\(").replace(")", r"\)").replace(".", r"\.")):
        TripletMarginLoss(**kwargs)


@pytest.mark.parametrize(
    "embeddings, labels, error, message",
    [
        (torch.randn(4), torch.zeros(4, dtype=torch.int64), ValueError, r"`embeddings` must be 2-D \(batch_size, embedding_dim\); got shape \(4,\)\."),
        (torch.full((4, 2), float("nan")), torch.zeros(4, dtype=torch.int64), ValueError, "`embeddings` must be finite; found 8 NaN"),
        (torch.randn(4, 2), torch.zeros(3, dtype=torch.int64), ValueError, r"`labels` must be 1-D with one label per embedding \(4\)"),
        (torch.randn(4, 2), torch.zeros(4), TypeError, "`labels` must have an integer dtype; got torch.float32."),
        (torch.randn(4, 2), None, ValueError, "`labels` are required here"),
    ],
)
def test_bad_inputs_are_named(embeddings, labels, error, message):
    with pytest.raises(error, match=message):
        TripletMarginLoss()(embeddings, labels)


def test_float32_and_float64_agree():
    E, y = _batch()
    loss64 = TripletMarginLoss(0.8)(E, y)
    loss32 = TripletMarginLoss(0.8)(E.float(), y)
    assert loss32.dtype == torch.float32
    assert loss32.item() == pytest.approx(loss64.item(), rel=1e-5)
    assert np.isfinite(loss32.item())
