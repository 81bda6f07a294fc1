"""Banded multivariate dynamic time warping between signatures, by dtaidistance's C code (its OpenMP loop over pairs).

The distance is dependent DTW: the square root of the least sum, over a warping path, of squared Euclidean distances
between aligned points. A ``transform`` L makes the local cost a Mahalanobis one, ``(a - b)^T L^T L (a - b)``, by
warping ``x L^T`` instead of ``x``. The Sakoe-Chiba ``window`` is in points around the band joining both ends
(dtaidistance widens it by the length difference, so unequal lengths always align).
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from metrickit._validation import check_positive_int

__all__ = ["DEFAULT_WINDOW", "dtw_cross_distances", "dtw_path"]

DEFAULT_WINDOW = 20  # points: 0.2 s at 100 Hz, a tenth of an average SVC2004 signature (208 points)


def _dtaidistance():
    try:
        from dtaidistance import dtw_ndim
    except ImportError as error:
        from metrickit.exceptions import MissingDependencyError

        raise MissingDependencyError('dynamic time warping needs dtaidistance: pip install "metrickit[signatures]"') from error
    return dtw_ndim


def _prepared(sequences: Sequence[np.ndarray], name: str, transform: np.ndarray | None) -> list[np.ndarray]:
    prepared = []
    for k, sequence in enumerate(sequences):
        sequence = np.asarray(sequence, dtype=np.float64)
        if sequence.ndim != 2 or len(sequence) < 1:
            raise ValueError(f"`{name}`[{k}] must be a (length, features) array; got shape {sequence.shape}.")
        if not np.isfinite(sequence).all():
            raise ValueError(f"`{name}`[{k}] holds NaN or infinite values.")
        if transform is not None:
            if transform.shape[1] != sequence.shape[1]:
                raise ValueError(f"`transform` maps {transform.shape[1]} features but `{name}`[{k}] has {sequence.shape[1]}.")
            sequence = sequence @ transform.T
        prepared.append(np.ascontiguousarray(sequence))
    if prepared and len({s.shape[1] for s in prepared}) > 1:
        raise ValueError(f"`{name}` mixes sequences of {sorted({s.shape[1] for s in prepared})} features.")
    return prepared


def dtw_cross_distances(queries: Sequence[np.ndarray], references: Sequence[np.ndarray], *, window: int = DEFAULT_WINDOW,
                        transform: np.ndarray | None = None, block_rows: int = 256) -> np.ndarray:
    """(n_queries, n_references) DTW distances, computed ``block_rows`` queries at a time."""
    dtw_ndim = _dtaidistance()
    window = check_positive_int(window, "window")
    transform = None if transform is None else np.asarray(transform, dtype=np.float64)
    queries, references = _prepared(queries, "queries", transform), _prepared(references, "references", transform)
    if queries and references and queries[0].shape[1] != references[0].shape[1]:
        raise ValueError(f"queries have {queries[0].shape[1]} features but references have {references[0].shape[1]}.")
    out = np.empty((len(queries), len(references)))
    n_ref = len(references)
    for start in range(0, len(queries), block_rows):
        part = queries[start : start + block_rows]
        matrix = dtw_ndim.distance_matrix_fast(references + part, window=window, block=((0, n_ref), (n_ref, n_ref + len(part))),
                                               parallel=True)
        out[start : start + len(part)] = matrix[:n_ref, n_ref:].T
    return out


def dtw_path(a: np.ndarray, b: np.ndarray, *, window: int = DEFAULT_WINDOW) -> np.ndarray:
    """The optimal warping path between two sequences as (n_steps, 2) index pairs (a's point, b's point)."""
    dtw_ndim = _dtaidistance()
    a, b = _prepared([a, b], "sequences", None)
    return np.asarray(dtw_ndim.warping_path(a, b, window=check_positive_int(window, "window")), dtype=np.int64)
