"""Multi-Similarity, SupCon and NT-Xent: mined pairs, reference sets and the laws between them."""

import pytest
import torch

from metrickit.losses import MultiSimilarityLoss, NTXentLoss, PairIndices, SupConLoss, pair_indices
from metrickit.miners import MultiSimilarityMiner


def _batch(seed=0, n=24, n_classes=4, dim=6):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(n, dim, generator=g, dtype=torch.float64), torch.randint(0, n_classes, (n,), generator=g)


def test_with_two_views_supcon_is_ntxent():
    E, _ = _batch(n=20)
    views = torch.arange(10).repeat(2)
    assert SupConLoss(0.2)(E, views).item() == pytest.approx(NTXentLoss(0.2)(E, views).item(), rel=1e-12)


@pytest.mark.parametrize("loss", [MultiSimilarityLoss(), SupConLoss(), NTXentLoss()])
def test_every_pair_listed_is_the_same_as_the_labels(loss):
    E, y = _batch(1)
    pairs = pair_indices(y)
    both_ways = PairIndices(torch.cat([pairs.pos_anchor, pairs.positive]), torch.cat([pairs.positive, pairs.pos_anchor]),
                            torch.cat([pairs.neg_anchor, pairs.negative]), torch.cat([pairs.negative, pairs.neg_anchor]))
    assert loss(E, indices=both_ways).item() == pytest.approx(loss(E, y).item(), rel=1e-12)


def test_a_pair_listed_as_positive_and_negative_is_refused():
    E, _ = _batch()
    one = torch.tensor([0])
    with pytest.raises(ValueError, match="both positive and negative"):
        MultiSimilarityLoss()(E, indices=PairIndices(one, one + 1, one, one + 1))


def test_the_miner_keeps_only_pairs_that_break_the_relative_rule():
    E = torch.tensor([[1.0, 0.0], [0.8, 0.6], [1.0, 0.05], [-1.0, 0.0]], dtype=torch.float64)
    y = torch.tensor([0, 0, 1, 1])
    mined = MultiSimilarityMiner(epsilon=0.1)(E, y)
    # anchor 0: positive 1 (cos 0.8) is less similar than negative 2 (cos ~1) + 0.1 -> kept; negative 3 (cos -1) is not hard
    assert (0, 1) in set(zip(mined.pos_anchor.tolist(), mined.positive.tolist()))
    assert (0, 2) in set(zip(mined.neg_anchor.tolist(), mined.negative.tolist()))
    assert (0, 3) not in set(zip(mined.neg_anchor.tolist(), mined.negative.tolist()))


def test_a_reference_set_adds_pairs_across_batches():
    E, y = _batch(2)
    R, r = _batch(3, n=40)
    loss = MultiSimilarityLoss()
    against = loss(E, y, ref_embeddings=R, ref_labels=r)
    assert torch.isfinite(against) and against.item() != pytest.approx(loss(E, y).item())


@pytest.mark.parametrize("make, message", [
    (lambda: MultiSimilarityLoss(alpha=0), "`alpha` must be a finite number > 0"),
    (lambda: MultiSimilarityLoss(base=2.0), r"multi-similarity's `base` is in cosine \(the base lambda\), in \[-1, 1\]"),
    (lambda: SupConLoss(temperature=-1), "`temperature` must be a finite number > 0"),
    (lambda: NTXentLoss(reduction="avg"), "`reduction` must be one of"),
    (lambda: MultiSimilarityMiner(epsilon=-0.1), "`epsilon` must be a finite number >= 0"),
])
def test_bad_settings_are_named(make, message):
    with pytest.raises(ValueError, match=message):
        make()


@pytest.mark.parametrize("loss", [MultiSimilarityLoss(), SupConLoss(), NTXentLoss()])
def test_a_batch_without_negatives_stays_finite_and_backpropagates(loss):
    E = torch.randn(6, 4, requires_grad=True)
    value = loss(E, torch.zeros(6, dtype=torch.int64))
    value.backward()
    assert torch.isfinite(value) and E.grad is not None
