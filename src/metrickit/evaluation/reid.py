"""Re-identification: rank a gallery for each query by distance; CMC and mAP as Market-1501 and torchreid define them.

For each query, gallery images of the same identity taken by the same camera are ignored ("junk": the same
tracklet, trivially alike), and so is the query itself when it is in the gallery; images of other identities
from that camera stay. A query with no match left in the gallery is skipped and counted. On what is kept:

- CMC at rank r: the fraction of queries whose first match lies within the top r.
- AP: the mean, over the query's matches, of the precision at each match's position; mAP averages it over queries.

Queries are ranked in blocks sized by ``working_memory`` (MiB), so a 20k-image gallery never needs its full
distance matrix at once. Distances are Euclidean, or with ``rerank=True`` the k-reciprocal re-ranking distances
of Zhong et al. (2017) (:mod:`metrickit.evaluation.rerank`).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from metrickit._validation import check_array_2d, check_positive_int
from metrickit.distances.functional import block_slices, squared_euclidean_block

__all__ = ["ReidReport", "rank_gallery", "reid_metrics"]


@dataclass(frozen=True)
class ReidReport:
    """mAP and the CMC curve (``cmc[r - 1]`` = rank-r accuracy) over the queries that have a match."""

    mean_ap: float
    cmc: list[float]
    n_queries: int
    n_skipped: int
    reranked: bool

    @property
    def rank1(self) -> float:
        return self.cmc[0]

    @property
    def rank5(self) -> float:
        return self.cmc[min(4, len(self.cmc) - 1)]

    @property
    def rank10(self) -> float:
        return self.cmc[min(9, len(self.cmc) - 1)]

    def as_dict(self) -> dict:
        return {**asdict(self), "rank1": self.rank1, "rank5": self.rank5, "rank10": self.rank10}


def rank_gallery(
    distances: np.ndarray,
    query_ids: np.ndarray,
    query_cams: np.ndarray,
    gallery_ids: np.ndarray,
    gallery_cams: np.ndarray,
    query_positions: np.ndarray | None = None,
    max_rank: int = 50,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Score a block of queries from their distances (n_query, n_gallery) to the gallery.

    Returns ``(cmc, ap, valid)``: per query, whether its first match lies within ranks 1..max_rank
    ((n_query, max_rank) bool), its AP, and whether it had any match left (AP and CMC are 0 otherwise).
    ``query_positions`` are the queries' own gallery indices (-1 where a query is not in the gallery).
    """
    order = np.argsort(distances, axis=1, kind="stable")  # (b, n_gallery)
    same_id = gallery_ids[order] == query_ids[:, None]
    junk = same_id & (gallery_cams[order] == query_cams[:, None])
    if query_positions is not None:
        junk |= order == query_positions[:, None]
    kept = ~junk
    matches = same_id & kept
    position = np.cumsum(kept, axis=1)  # 1-based rank among the kept images
    n_matches = matches.sum(1)
    valid = n_matches > 0
    first = np.where(matches, position, np.iinfo(position.dtype).max).min(1)
    cmc = first[:, None] <= np.arange(1, max_rank + 1)[None, :]
    precision = np.cumsum(matches, axis=1) / np.maximum(position, 1)  # position 0: junk before the first kept image
    ap = np.where(matches, precision, 0.0).sum(1) / np.maximum(n_matches, 1)
    return cmc & valid[:, None], ap * valid, valid


def reid_metrics(
    query: np.ndarray,
    gallery: np.ndarray,
    query_ids: np.ndarray,
    gallery_ids: np.ndarray,
    query_cams: np.ndarray,
    gallery_cams: np.ndarray,
    *,
    query_positions: np.ndarray | None = None,
    max_rank: int = 50,
    working_memory: float | None = None,
    rerank: bool = False,
    k1: int = 20,
    k2: int = 6,
    lambda_value: float = 0.3,
) -> ReidReport:
    """CMC and mAP of query embeddings (n_query, d) against gallery embeddings (n_gallery, d).

    ``query_positions`` gives each query's index in the gallery when the queries are gallery images
    (-1 otherwise), so a query never retrieves itself. ``rerank`` applies k-reciprocal re-ranking with
    ``k1``, ``k2`` and ``lambda_value`` (the paper's defaults: 20, 6, 0.3).
    """
    query = check_array_2d(query, "query")
    gallery = check_array_2d(gallery, "gallery", n_features=query.shape[1])
    labels = {}
    for name, values, n in (("query_ids", query_ids, len(query)), ("query_cams", query_cams, len(query)),
                            ("gallery_ids", gallery_ids, len(gallery)), ("gallery_cams", gallery_cams, len(gallery))):
        values = np.asarray(values)
        if values.shape != (n,):
            raise ValueError(f"`{name}` must hold one label per {'query' if name.startswith('query') else 'gallery image'} ({n}); got shape {values.shape}.")
        labels[name] = values
    if query_positions is not None:
        query_positions = np.asarray(query_positions, dtype=np.int64)
        if query_positions.shape != (len(query),) or query_positions.max(initial=-1) >= len(gallery):
            raise ValueError(f"`query_positions` must hold one gallery index (or -1) per query; got shape {query_positions.shape}.")
    max_rank = check_positive_int(max_rank, "max_rank")
    if rerank:
        from metrickit.evaluation.rerank import KReciprocalReranker

        distance_block = KReciprocalReranker(query, gallery, k1=k1, k2=k2, lambda_value=lambda_value, working_memory=working_memory).block
    else:
        center = gallery.mean(0)
        q, g = query - center, gallery - center
        g_sq = np.einsum("ij,ij->i", g, g)
        distance_block = lambda rows: squared_euclidean_block(q[rows], g, g_sq)  # noqa: E731  (same ranking as Euclidean)
    cmc_hits = np.zeros(max_rank)
    ap_sum, n_valid = 0.0, 0
    # temporaries per query: distances, order, gathered labels, masks, positions and precisions per gallery image
    for rows in block_slices(len(query), 64.0 * len(gallery), working_memory):
        cmc, ap, valid = rank_gallery(distance_block(rows), labels["query_ids"][rows], labels["query_cams"][rows], labels["gallery_ids"],
                                      labels["gallery_cams"], None if query_positions is None else query_positions[rows], max_rank)
        cmc_hits += cmc.sum(0)
        ap_sum += float(ap.sum())
        n_valid += int(valid.sum())
    if n_valid == 0:
        raise ValueError("no query has a match in the gallery (same identity, other camera); re-identification cannot be scored.")
    return ReidReport(ap_sum / n_valid, (cmc_hits / n_valid).tolist(), n_valid, len(query) - n_valid, bool(rerank))
