"""Sections for person re-identification: the benchmark over seeds and evaluations."""

from __future__ import annotations

from pathlib import Path
from typing import Callable

from metrickit._config import flatten
from metrickit.reporting._common import images, pm, provenance_bullets, repeats_training, titled
from metrickit.datasets.reid import MARKET_PREPROCESSING
from metrickit.evaluation.rerank import K1, K2, LAMBDA
from metrickit.reid.config import DEEP_METHODS, STRIPES
from metrickit.reporting.document import Paragraph, Section, Table

__all__ = ["BUILDERS"]


_AP_RULES = {
    "torchreid": "AP is torchreid's form: the mean precision at each correct match.",
    "market1501": "AP is Market-1501's own form: precision-recall steps integrated by the trapezoid rule (never above torchreid's).",
}


def _reid_table(record: dict, seconds: Callable[[str], str] | None = None) -> Table:
    rows = []
    for name, entry in record["methods"].items():
        for kind, s in entry["summary"].items():
            rows.append([name + (" + re-ranking" if kind == "reranked" else ""), pm(s["mean_ap"]), pm(s["rank1"]), pm(s["rank5"]),
                         pm(s["rank10"]), *([seconds(name)] if seconds else [])])
    ap_rule = record.get("ap_rule", "torchreid")  # results written before the rule was recorded used torchreid's form
    return Table(["method", f"mAP ({ap_rule} AP)", "rank-1", "rank-5", "rank-10", *(["training (s, all seeds)"] if seconds else [])], rows)


def _reid(record: dict, path: Path) -> list[Section]:
    """The benchmark: the split sizes, re-ranking and budgets are read from the record (what the protocol code did)."""
    deep = next((flatten(t["config"]) for t in record["training"].values() if t["config"]["method"] in DEEP_METHODS), None)
    lmnn = next((flatten(t["config"]) for t in record["training"].values() if t["config"]["method"] == "lmnn"), None)
    split = next(iter(record["training"].values()))["repeats"][0]["split"]
    n_seeds = len(next(iter(record["training"].values()))["repeats"])
    n_test, n_val, n_fit = len(split["test"]), len(split["val"]), len(split["fit"])
    rr = record.get("reranking", {"k1": K1, "k2": K2, "lambda": LAMBDA})
    height, width = MARKET_PREPROCESSING.shape[1:]
    budget = (f" Deep methods: {deep['architecture']} on {height} x {width} images with horizontal flips, {deep['embedding_dim']}-d, "
              f"{deep['epochs']} epochs x {deep['batches_per_epoch']} batches of {deep['n_classes_per_batch']} persons x "
              f"{deep['n_per_class']} images, {deep['optimizer'].capitalize()} {deep['learning_rate']:g}; the triplet embedder mines the "
              f"hardest positive and negative in each batch (margin {deep['margin']:g}).") if deep else ""
    features = (f" LMNN: colour histograms of {STRIPES} horizontal stripes, PCA, {lmnn['n_neighbors']} target neighbour(s)."
                if lmnn else "")
    return [Section(f"Person re-identification: Market-1501 subset, {n_seeds} splits of {n_test} unseen test persons", [
        Paragraph(f"For each seed, {n_test} persons are unseen test persons, {n_val} validate (epoch or PCA size, by their mAP) and "
                  f"{n_fit} train. Queries: one image per (person, camera) of the test persons, the lowest frame; gallery: all their images; "
                  "gallery images of the query's person from the query's camera, and junk (identity -1), are ignored. "
                  + _AP_RULES[record.get("ap_rule", "torchreid")] + f" Mean ± sd over seeds; re-ranking is k-reciprocal (k1 = {rr['k1']}, "
                  f"k2 = {rr['k2']}, lambda = {rr['lambda']}). Euclidean: standardised pixels." + features + budget
                  + " This subset is small: a plumbing check, not a comparison with published Market-1501 results."),
        provenance_bullets(record),
        _reid_table(record, lambda name: f"{record['training'][name]['train_seconds']:.0f}"),
        *images(path.parent, [(f"{path.stem}-{name}.png", caption) for name, caption in
                               (("cmc", "CMC, mean over seeds"), ("projection", "test embeddings, 2-D PCA"))]),
    ])]


def _reid_eval(record: dict, path: Path) -> list[Section]:
    return [Section(titled("Re-identification", path), [
        provenance_bullets(record), _reid_table(record), *images(path.parent, [("cmc.png", "CMC"), ("projection.png", "test embeddings")]),
    ])]


BUILDERS = {
    "reid-benchmark": _reid,
    "reid-eval": _reid_eval,
    "reid-training": repeats_training,
}
