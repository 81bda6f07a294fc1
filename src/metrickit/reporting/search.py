"""Sections for searchable galleries: faiss indexes against exact search and raw faiss."""

from __future__ import annotations

from pathlib import Path

from metrickit.reporting._common import provenance_bullets
from metrickit.reporting.document import Paragraph, Section, Table

__all__ = ["BUILDERS"]


def _index_search(record: dict, path: Path) -> list[Section]:
    gallery = record["gallery"]
    rows = [[r["kind"], r["factory"], f"{r['build_seconds']:.1f}", f"{r['index_bytes'] / 2**20:.0f}",
             f"{r['effort_name']} {r['effort']}" if r["effort"] is not None else "exact",
             f"{r['recall_at_1']:.4f}", f"{r['recall_at_10']:.4f}", f"{r['qps_batch_1']:,.0f}", f"{r['qps_batch_1000']:,.0f}",
             f"{r.get('speedup_vs_flat_batch_1', float('nan')):.1f}x / {r.get('speedup_vs_flat_batch_1000', float('nan')):.1f}x",
             f"{r.get('memory_vs_flat', float('nan')):.3f}", f"{r['overhead_batch_1']:+.1%} / {r['overhead_batch_1000']:+.1%}"]
            for r in record["rows"]]
    crossing = record.get("top10_crossing_groups", record.get("top10_crossing_clusters"))
    metric = "inner product (the model L2-normalises)" if gallery.get("normalized") else "squared Euclidean distance"
    if gallery.get("source") == "mnist":
        model = gallery["model"]
        name = f"{gallery['n']:,} MNIST embeddings ({gallery['dim']}-d)"
        described = (f"a trained {model['name']} model's embeddings ({Path(model['path']).name}, sha256 {model['sha256'][:12]}, "
                     f"trained on digits {', '.join(map(str, model['training_classes']))}) of the MNIST training images less "
                     f"{record['queries']['validation']:,} validation queries; test queries are the MNIST test images; searched by {metric}. "
                     f"The exact top 10 holds more than one digit for {crossing:.0%} of the test queries.")
    else:
        name = f"{gallery['n']:,} x {gallery['dim']} embeddings"
        described = (f"a mixture of {gallery['clusters']:,} Gaussian clusters ({gallery['generator']}, spread "
                     f"{gallery['spread']}); the exact top 10 spans more than one cluster for {crossing:.0%} of the test queries.")
    if not record["rows"]:  # a run of the streaming builds alone
        return _streaming(record.get("streaming_builds"), alone=(name, described, record))
    return [Section(f"Search: {name}, faiss indexes through metrickit", [
        Paragraph(f"Gallery: {described} Each kind's search effort is tuned on {record['queries']['validation']:,} validation queries to "
                  f"recall@10 >= {record['target']}; recall and speed are measured on {record['queries']['test']:,} other test queries "
                  f"(none indexed), {record['threads']} threads. Speed-up and memory are against the flat (exact) index; overhead "
                  "compares metrickit's search with the same faiss index called directly (one at a time / batches of 1,000)."),
        provenance_bullets(record),
        Table(["kind", "faiss index", "build (s)", "size (MiB)", "effort", "recall@1", "recall@10", "queries/s (1)",
               "queries/s (1,000)", "speed-up vs flat (1 / 1,000)", "memory vs flat", "overhead vs raw faiss"], rows),
    ]), *_streaming(record.get("streaming_builds"))]


def _streaming(streaming: dict | None, alone: tuple[str, str, dict] | None = None) -> list[Section]:
    """The streaming builds' table: below the search table, or ``alone`` (the gallery's name and description and the
    run's record) with its own gallery text and provenance."""
    if not streaming:
        return []
    mib = lambda value: f"{value / 2**20:,.0f}"  # noqa: E731
    rows = [[r["kind"], mib(r["index_bytes"]), mib(r["peak_rss_bytes"]), mib(r["budget_bytes"]), "yes" if r["within_budget"] else "NO",
             f"{r['seconds']:.1f}"] for r in streaming["rows"]]
    title = "Streaming index builds: peak memory" + (f" ({alone[0]}, a run of its own)" if alone else "")
    return [Section(title, [
        *([Paragraph(f"Gallery: {alone[0]}: {alone[1]}"), provenance_bullets(alone[2])] if alone else []),
        Paragraph(f"`metrickit index build` from {streaming['shards']} memory-mapped .npy shards of the gallery {'' if alone else 'above '}"
                  f"({mib(streaming['gallery_bytes'])} MiB in all), each kind in its own process; peak resident memory is the "
                  f"process's own high-water mark (the interpreter and the command's imports alone: "
                  f"{mib(streaming['imports_peak_rss_bytes'])} MiB). Budget: the index's size + 1 GiB."),
        Table(["kind", "index (MiB)", "peak memory (MiB)", "budget (MiB)", "within budget", "seconds"], rows),
    ])]


BUILDERS = {"index-search": _index_search}
