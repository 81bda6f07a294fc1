import numpy as np
import pytest

from metrickit.signatures.dtw import dtw_cross_distances, dtw_path


def _reference_dtw(a: np.ndarray, b: np.ndarray) -> float:
    """Unbanded dependent DTW by the textbook recurrence (a loop over anti-diagonal cells is fine at test sizes)."""
    cost = ((a[:, None, :] - b[None, :, :]) ** 2).sum(-1)
    acc = np.full((len(a) + 1, len(b) + 1), np.inf)
    acc[0, 0] = 0
    for i in range(1, len(a) + 1):
        for j in range(1, len(b) + 1):
            acc[i, j] = cost[i - 1, j - 1] + min(acc[i - 1, j], acc[i, j - 1], acc[i - 1, j - 1])
    return float(np.sqrt(acc[-1, -1]))


def test_distances_match_the_textbook_recurrence_without_a_band(rng):
    queries = [rng.normal(size=(n, 3)) for n in (7, 12, 9)]
    references = [rng.normal(size=(n, 3)) for n in (10, 6)]
    expected = np.array([[_reference_dtw(q, r) for r in references] for q in queries])
    np.testing.assert_allclose(dtw_cross_distances(queries, references, window=100, block_rows=2), expected, rtol=1e-12)


def test_a_band_never_lowers_the_distance_and_a_transform_is_a_local_mahalanobis_cost(rng):
    queries = [rng.normal(size=(40, 2)) for _ in range(3)]
    references = [rng.normal(size=(55, 2)) for _ in range(2)]
    wide, narrow = dtw_cross_distances(queries, references, window=100), dtw_cross_distances(queries, references, window=2)
    assert np.all(narrow >= wide - 1e-12) and np.isfinite(narrow).all()
    L = np.array([[2.0, 0.5], [0.0, 1.0]])
    np.testing.assert_allclose(dtw_cross_distances(queries, references, transform=L),
                               dtw_cross_distances([q @ L.T for q in queries], [r @ L.T for r in references]), rtol=1e-12)
    np.testing.assert_allclose(dtw_cross_distances(queries, references, transform=3 * np.eye(2)), 3 * dtw_cross_distances(queries, references))


def test_warping_paths_join_both_ends_monotonically(rng):
    path = dtw_path(rng.normal(size=(30, 2)), rng.normal(size=(45, 2)))
    assert path[0].tolist() == [0, 0] and path[-1].tolist() == [29, 44]
    assert np.all(np.diff(path, axis=0) >= 0) and np.all(np.diff(path, axis=0).sum(1) >= 1)


def test_bad_sequences_are_refused_by_name(rng):
    good = [rng.normal(size=(5, 2))]
    with pytest.raises(ValueError, match=r"`queries`\[0\] holds NaN"):
        dtw_cross_distances([np.full((4, 2), np.nan)], good)
    with pytest.raises(ValueError, match="queries have 3 features but references have 2"):
        dtw_cross_distances([rng.normal(size=(5, 3))], good)
    with pytest.raises(ValueError, match=r"`transform` maps 3 features but `queries`\[0\] has 2"):
        dtw_cross_distances(good, good, transform=np.eye(3))
    with pytest.raises(ValueError, match=r"`window` must be >= 1"):
        dtw_cross_distances(good, good, window=0)
