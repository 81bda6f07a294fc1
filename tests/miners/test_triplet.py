import pytest
import torch

from metrickit.miners import BatchAllMiner, BatchHardMiner, RandomTripletMiner, SemiHardMiner
from tests._reference import triplets_bruteforce


def _batch(seed=0, n=20, dim=4, n_classes=4):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(n, dim, generator=g, dtype=torch.float64), torch.randint(0, n_classes, (n,), generator=g)


def _as_set(indices):
    return set(zip(indices.anchor.tolist(), indices.positive.tolist(), indices.negative.tolist()))


@pytest.mark.parametrize("squared", [True, False])
def test_batch_all_and_band_semihard_match_loops(squared):
    E, y = _batch()
    margin = 1.0 if squared else 0.4
    for miner, rule in [(BatchAllMiner(margin, squared=squared, working_memory=1e-4), "violating"),
                        (SemiHardMiner(margin, squared=squared, working_memory=1e-4), "semihard")]:
        mined = miner(E, y)
        expected, _ = triplets_bruteforce(E.numpy(), y.numpy(), margin, rule, squared)
        assert [tuple(t) for t in zip(*(c.tolist() for c in mined))] == expected  # same set, same (a, p, n) order


def test_reference_set_mining_matches_loops():
    E, y = _batch(n=8)
    R, ry = _batch(seed=3, n=12)
    mined = BatchAllMiner(1.0)(E, y, R, ry)
    expected, _ = triplets_bruteforce(E.numpy(), y.numpy(), 1.0, "violating", R=R.numpy(), ry=ry.numpy())
    assert _as_set(mined) == set(expected)


def test_batch_hard_picks_farthest_positive_and_closest_negative():
    E, y = _batch()
    mined = BatchHardMiner()(E, y)
    D = torch.cdist(E, E) ** 2
    for a, p, n in zip(*(c.tolist() for c in mined)):
        same = (y == y[a]) & (torch.arange(len(y)) != a)
        assert D[a, p] == D[a][same].max()
        assert D[a, n] == D[a][y != y[a]].min()
    assert len(mined) == sum(int(((y == y[a]).sum() > 1) and ((y != y[a]).sum() > 0)) for a in range(len(y)))


def test_facenet_semihard_takes_the_closest_negative_beyond_the_positive():
    E, y = _batch()
    mined = SemiHardMiner(variant="facenet")(E, y)
    D = ((E[:, None] - E[None]) ** 2).sum(-1)
    n_positive_pairs = sum(int((y == y[a]).sum() - 1) for a in range(len(y)))
    assert len(mined) == n_positive_pairs
    for a, p, n in zip(*(c.tolist() for c in mined)):
        negatives = D[a][y != y[a]]
        beyond = negatives[negatives > D[a, p]]
        expected = beyond.min() if len(beyond) else negatives.max()
        assert D[a, n] == expected


def test_facenet_fallback_is_the_farthest_negative():
    E = torch.tensor([[0.0], [3.0], [1.0], [2.0]])
    y = torch.tensor([0, 0, 1, 1])
    mined = SemiHardMiner(variant="facenet")(E, y)
    got = _as_set(mined)
    assert (0, 1, 3) in got  # d_ap = 9 exceeds every negative (1, 4): fall back to the farthest, point 3


def test_random_miner_is_seeded_and_valid():
    E, y = _batch()
    first = RandomTripletMiner(3, seed=5)(E, y)
    again = RandomTripletMiner(3, seed=5)(E, y)
    assert _as_set(first) == _as_set(again)
    assert all(y[a] == y[p] and a != p and y[a] != y[n] for a, p, n in zip(*(c.tolist() for c in first)))


def test_miners_run_without_gradients_and_survive_single_class_batches():
    E = torch.randn(6, 3, requires_grad=True)
    y = torch.zeros(6, dtype=torch.int64)
    for miner in (BatchAllMiner(), BatchHardMiner(), SemiHardMiner(), SemiHardMiner(variant="facenet"), RandomTripletMiner()):
        mined = miner(E, y)
        assert len(mined) == 0 and mined.anchor.dtype == torch.int64


def test_bad_variant_is_named():
    with pytest.raises(ValueError, match="`variant` must be 'band' or 'facenet'; got 'tf'."):
        SemiHardMiner(variant="tf")
