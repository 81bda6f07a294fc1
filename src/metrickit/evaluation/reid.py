"""Re-identification: rank a gallery for each query by distance; CMC and mAP under Market-1501's junk rule.

For each query, gallery images of the same identity taken by the same camera are ignored ("junk": the same
tracklet, trivially alike), and so is the query itself when it is in the gallery; images of other identities
from that camera stay. Gallery images with identity -1 are junk for every query (Market-1501's "junk" boxes:
bad detections). Identity 0 is not special: Market-1501 labels its distractors 0, and they count as wrong
matches only because no query has identity 0. A query with no match left in the gallery is skipped and counted.
On what is kept:

- CMC at rank r: the fraction of queries whose first match lies within the top r.
- AP, two established forms (``ap=``); mAP averages it over queries:

  - ``"torchreid"``: the mean, over the query's matches, of the precision at each match's position
    (torchreid's ``eval_market1501``, and most papers since).
  - ``"market1501"``: the area under the precision-recall steps by the trapezoid rule, as Market-1501's own
    ``compute_AP.m`` computes it: each match adds ``(p_before + p_at) / 2`` over the number of matches, with
    ``p_before`` the precision at the previous rank (1 at rank 1). Never above the torchreid form.

Queries are ranked in blocks sized by ``working_memory`` (MiB), so a 20k-image gallery never needs its full
distance matrix at once. Distances are Euclidean, or with ``rerank=True`` the k-reciprocal re-ranking distances
of Zhong et al. (2017) (:mod:`metrickit.evaluation.rerank`).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Literal

import numpy as np

from metrickit._validation import check_array_2d, check_positive_int
from metrickit.distances.functional import block_slices, squared_euclidean_block
from metrickit.evaluation.rerank import K1, K2, LAMBDA

__all__ = ["AP_RULES", "APRule", "ReidReport", "rank_gallery", "reid_metrics"]

APRule = Literal["torchreid", "market1501"]
AP_RULES: tuple[str, ...] = ("torchreid", "market1501")
JUNK_ID = -1


@dataclass(frozen=True)
class ReidReport:
    """mAP and the CMC curve (``cmc[r - 1]`` = rank-r accuracy) over the queries that have a match.

    ``ap_rule`` names the AP form behind ``mean_ap`` (see the module docstring).
    """

    mean_ap: float
    cmc: list[float]
    n_queries: int
    n_skipped: int
    reranked: bool
    ap_rule: str = "torchreid"

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
    ap: APRule = "torchreid",
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Score a block of queries from their distances (n_query, n_gallery) to the gallery.

    Returns ``(cmc, ap, valid)``: per query, whether its first match lies within ranks 1..max_rank
    ((n_query, max_rank) bool), its AP in the form ``ap``, and whether it had any match left (AP and
    CMC are 0 otherwise). ``query_positions`` are the queries' own gallery indices (-1 where a query is
    not in the gallery). Gallery identity -1 is junk for every query.
    """
    order = np.argsort(distances, axis=1, kind="stable")  # (b, n_gallery)
    ranked_ids = gallery_ids[order]
    same_id = ranked_ids == query_ids[:, None]
    junk = (same_id & (gallery_cams[order] == query_cams[:, None])) | (ranked_ids == JUNK_ID)
    if query_positions is not None:
        junk |= order == query_positions[:, None]
    kept = ~junk
    matches = same_id & kept
    position = np.cumsum(kept, axis=1)  # 1-based rank among the kept images
    n_matches = matches.sum(1)
    valid = n_matches > 0
    first = np.where(matches, position, np.iinfo(position.dtype).max).min(1)
    cmc = first[:, None] <= np.arange(1, max_rank + 1)[None, :]
    hits = np.cumsum(matches, axis=1)
    precision = hits / np.maximum(position, 1)  # position 0: junk before the first kept image
    if ap == "market1501":  # trapezoid between the precision at the previous rank and at this one
        before = np.where(position > 1, (hits - 1) / np.maximum(position - 1, 1), 1.0)
        precision = (before + precision) / 2
    average = np.where(matches, precision, 0.0).sum(1) / np.maximum(n_matches, 1)
    return cmc & valid[:, None], average * valid, valid


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
    k1: int = K1,
    k2: int = K2,
    lambda_value: float = LAMBDA,
    ap: APRule = "torchreid",
) -> ReidReport:
    """CMC and mAP of query embeddings (n_query, d) against gallery embeddings (n_gallery, d).

    ``query_positions`` gives each query's index in the gallery when the queries are gallery images
    (-1 otherwise), so a query never retrieves itself. Gallery images with identity -1 are ignored
    (junk); a query may not have identity -1. ``rerank`` applies k-reciprocal re-ranking with ``k1``,
    ``k2`` and ``lambda_value`` (the paper's defaults: 20, 6, 0.3). ``ap`` picks the AP form:
    ``"torchreid"`` (mean precision at the hits) or ``"market1501"`` (Market-1501's trapezoid rule).
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
    junk_queries = np.flatnonzero(labels["query_ids"] == JUNK_ID)
    if len(junk_queries):
        raise ValueError(f"`query_ids` has identity {JUNK_ID} (junk) at query {int(junk_queries[0])}; "
                         f"junk images ({len(junk_queries)} here) cannot be queries: leave them out of the query set.")
    if ap not in AP_RULES:
        raise ValueError(f"`ap` must be one of {', '.join(map(repr, AP_RULES))}; got {ap!r}.")
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
        cmc, block_ap, valid = rank_gallery(distance_block(rows), labels["query_ids"][rows], labels["query_cams"][rows], labels["gallery_ids"],
                                      labels["gallery_cams"], None if query_positions is None else query_positions[rows], max_rank, ap)
        cmc_hits += cmc.sum(0)
        ap_sum += float(block_ap.sum())
        n_valid += int(valid.sum())
    if n_valid == 0:
        raise ValueError("no query has a match in the gallery (same identity, other camera); re-identification cannot be scored.")
    return ReidReport(ap_sum / n_valid, (cmc_hits / n_valid).tolist(), n_valid, len(query) - n_valid, bool(rerank), ap)
