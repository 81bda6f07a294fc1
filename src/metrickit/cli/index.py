"""``metrickit index build|search|tune|eval``: a searchable gallery of embeddings on faiss (the faiss extra)."""

from __future__ import annotations

import argparse

from metrickit.cli._options import add_common, add_output, emit

__all__ = ["register"]

KIND_CHOICES = ("auto", "flat", "hnsw", "ivf", "ivfpq")


def _queries(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--embeddings", metavar="FILE", help="query embeddings (.npy, or .npz from `metrickit embed`)")
    parser.add_argument("--images", metavar="PATH", help="query images (a folder or a file), embedded by --model")
    parser.add_argument("--model", metavar="MODEL", help="the model the index was built with (checked against the index)")


def _measured(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--index", required=True, metavar="DIR", help="a folder written by `metrickit index build`")
    parser.add_argument("--queries", required=True, metavar="FILE", help="held-out query embeddings, not in the index")
    parser.add_argument("--gallery", required=True, nargs="+", metavar="FILE", help="the embedding files the index was built from, in order")
    parser.add_argument("-k", type=int, default=10, help="neighbours per query (recall@k)")


def register(groups) -> None:
    index = groups.add_parser("index", help="search a gallery of embeddings with faiss: build, search, tune, eval",
                              description="Exact (flat) and approximate (hnsw, ivf, ivfpq) faiss indexes of embeddings.")
    verbs = index.add_subparsers(dest="verb", metavar="VERB")
    build = verbs.add_parser("build", help="index embedding files, or images through a model", description=(
        "Index the rows of embedding files (.npy memory-mapped, or .npz with embeddings, ids and labels as `metrickit "
        "embed` writes), added in chunks, or the images under a folder embedded by --model. --kind auto is exact up to "
        "50,000 vectors, else IVF with 16 sqrt(N) lists (an HNSW coarse quantiser above a million). Normalised embeddings "
        "are searched by inner product. Writes index.faiss, ids.npz and the sidecar index.json (model sha256, metric, "
        "parameters, faiss version, counts)."))
    build.add_argument("--embeddings", nargs="+", metavar="FILE", default=[], help="gallery embedding files, in order")
    build.add_argument("--images", metavar="PATH", help="a folder of gallery images (labels from sub-folders), embedded by --model")
    build.add_argument("--model", metavar="MODEL", help="the model that made (or makes) the embeddings; recorded by sha256")
    build.add_argument("--kind", default="auto", choices=KIND_CHOICES)
    build.add_argument("--nlist", type=int, help="IVF lists (default 16 sqrt(N), at most N / 39)")
    build.add_argument("--pq-m", type=int, help="product-quantiser codes per vector (default dim / 4)")
    add_output(build, "DIR", "the index folder", required=True)
    add_common(build)
    build.set_defaults(handler=build_command)

    search = verbs.add_parser("search", help="the k nearest gallery items of each query, as CSV")
    search.add_argument("--index", required=True, metavar="DIR", help="a folder written by `metrickit index build`")
    _queries(search)
    search.add_argument("-k", type=int, default=10, help="neighbours per query")
    add_output(search, "CSV", "rows query, rank, id, name, label, score", required=True)
    add_common(search)
    search.set_defaults(handler=search_command)

    tune = verbs.add_parser("tune", help="the least search effort that reaches a recall target", description=(
        "Try nprobe (IVF) or efSearch (HNSW) from small to large and keep the first whose recall@k on the held-out "
        "queries, against exact search over the gallery files, reaches --target; saved in the index with the measurement."))
    _measured(tune)
    tune.add_argument("--target", type=float, default=0.95, help="recall@k to reach")
    add_common(tune)
    tune.set_defaults(handler=tune_command)

    evaluate = verbs.add_parser("eval", help="recall@1 and @k against exact search, queries per second, size, build time")
    _measured(evaluate)
    add_common(evaluate)
    evaluate.set_defaults(handler=eval_command)


def build_command(args: argparse.Namespace) -> int:
    from metrickit.index.workflow import build_index

    settings = {name: value for name, value in (("nlist", args.nlist), ("pq_m", args.pq_m)) if value is not None}
    results = build_index(args.out, embeddings=args.embeddings, images=args.images, model=args.model, kind=args.kind,
                          overwrite=args.overwrite, quiet=args.quiet, **settings)
    emit(args, results, f"indexed {results['count']} embeddings of dimension {results['dim']} ({results['kind']}: {results['factory']}, "
                        f"{'inner product' if results['normalized'] else 'squared L2'}) in {results['build_seconds']:.1f} s into {args.out}")
    return 0


def search_command(args: argparse.Namespace) -> int:
    from metrickit.index.workflow import search_index

    results = search_index(args.index, args.out, embeddings=args.embeddings, images=args.images, model=args.model, k=args.k,
                           overwrite=args.overwrite)
    emit(args, results, f"wrote the {results['k']} nearest of {results['queries']} queries to {args.out}")
    return 0


def tune_command(args: argparse.Namespace) -> int:
    from metrickit.index.workflow import tune_index

    report = tune_index(args.index, args.queries, args.gallery, target_recall=args.target, k=args.k)
    effort = f"{report['effort_name']} {report['effort']}" if report["effort"] is not None else "exact search"
    emit(args, report, f"{effort}: recall@{args.k} {report[f'recall_at_{args.k}']:.4f}, recall@1 {report['recall_at_1']:.4f} on "
                       f"{report['n_queries']} held-out queries ({'reached' if report['reached'] else 'did not reach'} {args.target}{'; recall stopped rising' if report['stopped'] == 'plateau' else ''}); saved in {args.index}")
    return 0


def eval_command(args: argparse.Namespace) -> int:
    from metrickit.index.workflow import evaluate_index

    report = evaluate_index(args.index, args.queries, args.gallery, k=args.k)
    emit(args, report, "\n".join(f"{key}: {value:.4g}" if isinstance(value, float) else f"{key}: {value}" for key, value in report.items()))
    return 0
