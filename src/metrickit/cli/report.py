"""``metrickit report``: one Markdown + HTML report of result files (no torch)."""

from __future__ import annotations

import argparse

from metrickit.cli._options import add_common, add_output, emit

__all__ = ["register", "report_command"]


def register(groups) -> None:
    report = groups.add_parser("report", help="one Markdown + HTML report of result files", description=(
        "Gather the result files under PATH (benchmark JSONs from bench/results, and the results.json that metrickit "
        "commands write: demo, training runs, fewshot eval, verify eval, reid eval) into report.md and report.html, with "
        "their tables and PNGs (ROC, CMC, embedding projections, training curves) copied into DIR/images."))
    report.add_argument("paths", nargs="+", metavar="PATH", help="result files, or folders searched for them")
    add_output(report, "DIR", "report.md, report.html and images/", required=True)
    report.add_argument("--title", default="metrickit report")
    add_common(report)
    report.set_defaults(handler=report_command)


def report_command(args: argparse.Namespace) -> int:
    from metrickit.reporting import build_report, write_report

    document = build_report(args.paths, title=args.title)
    files = write_report(document, args.out, overwrite=args.overwrite)
    results = {"out": args.out, "sections": [s.title for s in document.sections], "files": [str(f) for f in files]}
    emit(args, results, f"{len(document.sections)} sections, {len(files) - 2} images: wrote report.md and report.html to {args.out}")
    return 0
