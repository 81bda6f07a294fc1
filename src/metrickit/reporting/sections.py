"""One report section per result file: benchmark JSONs (``bench/results``) and the ``results.json`` that ``metrickit``
commands write. Each domain's builders live in their module (``reporting/lmnn.py``, ``deep.py``, ``fewshot.py``,
``verify.py``, ``reid.py``); this module joins them.

:func:`classify` reads a record's ``kind``; :data:`BUILDERS` turns a record (and the path it came from, for its PNGs)
into sections; :func:`sections_of` does both. :data:`ORDER` is the order of kinds in a report.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

from metrickit.reporting import deep, fewshot, lfw, lmnn, reid, search, signatures, verify
from metrickit.reporting.document import Section
from metrickit.runs import KINDS, RESULTS

__all__ = ["BUILDERS", "ORDER", "classify", "sections_of", "sort_key"]

ORDER = KINDS
BUILDERS: dict[str, Callable[[dict, Path], list[Section]]] = {
    **lmnn.BUILDERS, **deep.BUILDERS, **fewshot.BUILDERS, **verify.BUILDERS, **reid.BUILDERS, **search.BUILDERS, **signatures.BUILDERS, **lfw.BUILDERS,
}


def classify(record: Any) -> str | None:
    """The ``kind`` a result record is tagged with, if a report knows it (None otherwise, untagged records included)."""
    kind = record.get("kind") if isinstance(record, dict) else None
    return kind if kind in BUILDERS else None


def sort_key(kind: str, record: dict, path: Path) -> tuple:
    """Reports list kinds in :data:`ORDER`; LMNN benchmarks by dataset (iris, wine, digits, MNIST by size), others by path."""
    if kind == "lmnn":
        datasets = ("iris", "wine", "digits", "mnist")
        dataset = record.get("dataset", "")
        return (ORDER.index(kind), datasets.index(dataset) if dataset in datasets else 9, "pca164" in path.stem, len(path.stem), path.stem)
    return (ORDER.index(kind), str(path))


def sections_of(record: dict, path: str | Path | None = None) -> list[Section]:
    """The sections of a tagged result (``path``: the file it is, or will be, for the images beside it)."""
    kind = classify(record)
    if kind is None:
        raise ValueError(f"not a result a report knows: kind {record.get('kind') if isinstance(record, dict) else None!r}.")
    return BUILDERS[kind](record, Path(path) if path is not None else Path(RESULTS))
