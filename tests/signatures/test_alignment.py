import numpy as np
import pytest

from metrickit.signatures.alignment import aligned_scatters
from metrickit.signatures.dtw import dtw_cross_distances, dtw_path


@pytest.mark.parametrize("window", [2, 15, 500])
def test_batched_alignments_equal_dtaidistance_and_their_scatter_is_the_squared_cost(rng, window):
    a = [rng.normal(size=(int(n), 3)) for n in rng.integers(10, 60, 9)]
    b = [rng.normal(size=(int(n), 3)) for n in rng.integers(10, 60, 9)]
    L = rng.normal(size=(3, 3))
    for transform in (None, L):
        distances, scatters, steps = aligned_scatters(a, b, window=window, transform=transform, block_pairs=4)
        expected = np.array([dtw_cross_distances([x], [y], window=window, transform=transform)[0, 0] for x, y in zip(a, b)])
        np.testing.assert_allclose(distances, expected, rtol=1e-10)
        M = np.eye(3) if transform is None else L.T @ L
        np.testing.assert_allclose(np.einsum("ij,bij->b", M, scatters), distances**2, rtol=1e-9)
    assert [len(dtw_path(x, y, window=window)) for x, y in zip(a, b)] == aligned_scatters(a, b, window=window)[2].tolist()


def test_pairs_must_come_in_pairs(rng):
    with pytest.raises(ValueError, match="`a` has 2 sequences but `b` has 1"):
        aligned_scatters([rng.normal(size=(4, 2))] * 2, [rng.normal(size=(4, 2))], window=3)
