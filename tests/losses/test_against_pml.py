"""Equal losses (within 1e-5) and equal triplet sets as pytorch-metric-learning configured equivalently.

PML uses LpDistance(normalize_embeddings=False, power=2) (squared Euclidean), AvgNonZeroReducer
(our 'mean_nonzero') and TripletMarginMiner's band semi-hard rule.
"""

import ast
from pathlib import Path

import pytest
import torch

pml = pytest.importorskip("pytorch_metric_learning", reason="pytorch-metric-learning is a dev (test-only) dependency")
from pytorch_metric_learning import distances as pml_distances  # noqa: E402
from pytorch_metric_learning import losses as pml_losses  # noqa: E402
from pytorch_metric_learning import miners as pml_miners  # noqa: E402
from pytorch_metric_learning import reducers as pml_reducers  # noqa: E402

from metrickit.losses import TripletMarginLoss  # noqa: E402
from metrickit.miners import BatchAllMiner, BatchHardMiner, SemiHardMiner  # noqa: E402

SQUARED = dict(normalize_embeddings=False, power=2)


def _batch(seed, n, n_classes, dim=16):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(n, dim, generator=g) * 0.3, torch.randint(0, n_classes, (n,), generator=g)


def _pml_loss(margin):
    return pml_losses.TripletMarginLoss(margin=margin, distance=pml_distances.LpDistance(**SQUARED), reducer=pml_reducers.AvgNonZeroReducer())


def _set(indices):
    return set(zip(*(torch.as_tensor(c).tolist() for c in indices)))


@pytest.mark.parametrize("seed, n, n_classes", [(0, 32, 8), (1, 64, 10), (2, 48, 3)])
def test_batch_all_loss_and_triplets_equal_pml(seed, n, n_classes):
    E, y = _batch(seed, n, n_classes)
    ours = TripletMarginLoss(0.2)(E, y)
    theirs = _pml_loss(0.2)(E, y)  # no miner: every triplet, averaged over the non-zero ones
    assert ours.item() == pytest.approx(theirs.item(), abs=1e-5)
    pml_all = pml_miners.TripletMarginMiner(margin=0.2, type_of_triplets="all", distance=pml_distances.LpDistance(**SQUARED))
    violating = {t for t in _set(pml_all(E, y)) if _violates(E, t, 0.2)}  # PML also keeps d_an - d_ap == margin
    assert _set(BatchAllMiner(0.2)(E, y)) == violating


def _violates(E, t, margin):
    a, p, n = t
    return float(((E[a] - E[n]) ** 2).sum() - ((E[a] - E[p]) ** 2).sum()) < margin


@pytest.mark.parametrize("seed, n, n_classes", [(0, 32, 8), (1, 64, 10)])
def test_band_semihard_triplets_and_loss_equal_pml(seed, n, n_classes):
    E, y = _batch(seed, n, n_classes)
    theirs_miner = pml_miners.TripletMarginMiner(margin=0.2, type_of_triplets="semihard", distance=pml_distances.LpDistance(**SQUARED))
    theirs_triplets = theirs_miner(E, y)
    ours_triplets = SemiHardMiner(0.2)(E, y)
    assert _set(ours_triplets) == _set(theirs_triplets)
    theirs = _pml_loss(0.2)(E, y, theirs_triplets)
    assert TripletMarginLoss(0.2, triplets="semihard")(E, y).item() == pytest.approx(theirs.item(), abs=1e-5)
    assert TripletMarginLoss(0.2)(E, indices=ours_triplets).item() == pytest.approx(theirs.item(), abs=1e-5)


@pytest.mark.parametrize("seed, n, n_classes", [(0, 32, 8), (3, 40, 5)])
def test_batch_hard_triplets_and_loss_equal_pml(seed, n, n_classes):
    E, y = _batch(seed, n, n_classes)
    theirs_triplets = pml_miners.BatchHardMiner(distance=pml_distances.LpDistance(**SQUARED))(E, y)
    ours_triplets = BatchHardMiner()(E, y)
    assert _set(ours_triplets) == _set(theirs_triplets)
    theirs = _pml_loss(0.2)(E, y, theirs_triplets)
    assert TripletMarginLoss(0.2)(E, indices=ours_triplets).item() == pytest.approx(theirs.item(), abs=1e-5)


def test_reference_set_loss_equals_pml():
    E, y = _batch(4, 24, 6)
    R, ry = _batch(5, 40, 6)
    theirs = _pml_loss(0.2)(E, y, ref_emb=R, ref_labels=ry)
    assert TripletMarginLoss(0.2)(E, y, ref_embeddings=R, ref_labels=ry).item() == pytest.approx(theirs.item(), abs=1e-5)


def test_gradients_equal_pml():
    E, y = _batch(6, 32, 8)
    ours_input, theirs_input = E.clone().requires_grad_(True), E.clone().requires_grad_(True)
    TripletMarginLoss(0.2)(ours_input, y).backward()
    _pml_loss(0.2)(theirs_input, y).backward()
    torch.testing.assert_close(ours_input.grad, theirs_input.grad, atol=1e-5, rtol=1e-4)


def test_nothing_under_src_imports_pytorch_metric_learning():
    src = Path(__file__).resolve().parents[2] / "src" / "metrickit"
    offenders = []
    for path in src.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else [node.module or ""] if isinstance(node, ast.ImportFrom) else []
            offenders += [f"{path.relative_to(src)}: {name}" for name in names if name.split(".")[0] == "pytorch_metric_learning"]
    assert offenders == []
