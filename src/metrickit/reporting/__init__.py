"""One report of everything: benchmark JSONs and the ``results.json`` of ``metrickit`` runs, as Markdown and HTML.

``metrickit report PATH... --out DIR`` gathers every result file under the paths (LMNN, deep metrics, few-shot,
verification, re-identification), writes ``report.md`` and ``report.html`` with their tables, and copies the PNGs
they show (ROC, CMC, embedding projections, training curves) into ``DIR/images``. ``bench/report.py`` renders
``BENCHMARKS.md`` from the same sections.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Iterable, Sequence

from metrickit.reporting.document import Document, Paragraph, Section, to_html, to_markdown, to_text
from metrickit.reporting.sections import BUILDERS, classify, sections_of, sort_key

__all__ = ["build_report", "collect_results", "result_text", "write_report"]


def collect_results(paths: Iterable[str | os.PathLike]) -> tuple[list[tuple[str, dict, Path]], list[tuple[Path, str]]]:
    """``(results, skipped)``: every JSON file under ``paths`` (files, or folders searched recursively) that a report
    knows, as ``(kind, record, path)`` in report order (by the ``kind`` each is tagged with), and the other JSON files
    with the reason each is left out."""
    files: list[Path] = []
    for path in map(Path, paths):
        if path.is_dir():
            files += sorted(p for p in path.rglob("*.json") if not any(part.startswith(".") for part in p.relative_to(path).parts))
        elif path.is_file():
            files.append(path)
        else:
            raise FileNotFoundError(f"{path} does not exist; give result files or folders holding them.")
    found, skipped = [], []
    for file in dict.fromkeys(files):
        try:
            record = json.loads(file.read_text())
        except (OSError, ValueError):
            skipped.append((file, "not readable JSON"))
            continue
        kind = classify(record)
        if kind is not None:
            found.append((kind, record, file))
        elif isinstance(record, dict) and "kind" not in record and ("config" in record or "benchmark" in record or "methods" in record):
            skipped.append((file, "untagged: written before results carried a `kind`; run scripts/migrate_results.py on it"))
        else:
            skipped.append((file, "not a metrickit result"))
    found.sort(key=lambda item: sort_key(*item))
    return found, skipped


def result_text(record: dict, path: str | os.PathLike | None = None) -> str:
    """A tagged result as plain text: the sections a report shows for it (what the CLI and the bench scripts print)."""
    return to_text(sections_of(record, path)).rstrip()


def build_report(paths: Sequence[str | os.PathLike], *, title: str = "metrickit report", intro: Sequence[str] = ()) -> Document:
    """A document with one section per result file under ``paths`` (see :func:`collect_results`)."""
    results, skipped = collect_results(paths)
    if not results:
        raise FileNotFoundError(f"no result files under {', '.join(map(str, paths))} (expected benchmark JSONs or the results.json of "
                                "`metrickit` runs).")
    sections: list[Section] = []
    for kind, record, path in results:
        try:
            sections += BUILDERS[kind](record, path)
        except (KeyError, TypeError, ValueError) as error:
            raise ValueError(f"{path} looks like a {kind} result but cannot be read: missing or bad entry {error}.") from None
    blocks = [Paragraph(text) for text in intro]
    if skipped:
        blocks.append(Paragraph(f"Not shown ({len(skipped)} JSON files): " + "; ".join(f"`{p}` ({why})" for p, why in skipped[:10])
                                + (" ..." if len(skipped) > 10 else "")))
    return Document(title, blocks, sections)


def write_report(document: Document, out_dir: str | os.PathLike, *, overwrite: bool = False) -> list[Path]:
    """Write ``report.md``, ``report.html`` and ``images/`` (copies of the PNGs) into ``out_dir``; returns the files."""
    from metrickit._io import atomic_path
    from metrickit.runs import check_out_dir

    out = check_out_dir(out_dir, overwrite)
    (out / "images").mkdir(parents=True, exist_ok=True)
    names: dict[Path, str] = {}
    for k, image in enumerate(document.images()):
        if image not in names:
            names[image] = f"{k:02d}-{image.parent.name}-{image.name}"
            with atomic_path(out / "images" / names[image], overwrite=True) as tmp:
                shutil.copyfile(image, tmp)
    ref = lambda path: f"images/{names[path]}"  # noqa: E731
    written = []
    for name, text in (("report.md", to_markdown(document, ref)), ("report.html", to_html(document, ref))):
        with atomic_path(out / name, overwrite=True) as tmp:
            tmp.write_text(text)
        written.append(out / name)
    return written + [out / "images" / n for n in names.values()]
