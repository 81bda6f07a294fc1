"""Use a verification model: same or different, for two image files or a CSV of pairs (``metrickit verify predict``)."""

from __future__ import annotations

import csv
import os
from pathlib import Path
from typing import Any, Sequence

import numpy as np

__all__ = ["predict", "predict_pairs", "read_pairs"]


def read_pairs(path: str | os.PathLike) -> list[tuple[str, str]]:
    """``(first, second)`` image paths from a CSV with two columns (a header row 'first,second' is allowed);
    relative paths are taken relative to the CSV's folder."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"pairs file {path} does not exist.")
    with path.open(newline="") as fh:
        rows = [row for row in csv.reader(fh) if row and any(cell.strip() for cell in row)]
    if rows and [c.strip().lower() for c in rows[0][:2]] == ["first", "second"]:
        rows = rows[1:]
    bad = [k + 1 for k, row in enumerate(rows) if len(row) < 2 or not row[0].strip() or not row[1].strip()]
    if not rows or bad:
        raise ValueError(f"{path} must hold rows 'first,second' of two image paths; rows {bad[:5]} do not." if bad
                         else f"{path} holds no pairs; expected rows 'first,second' of two image paths.")
    resolve = lambda p: str(p if Path(p).is_absolute() else path.parent / p)  # noqa: E731
    return [(resolve(row[0].strip()), resolve(row[1].strip())) for row in rows]


def predict_pairs(model, pairs: Sequence[tuple[str, str]]) -> list[dict[str, Any]]:
    """For each pair of image files: the distance and whether it is at most ``model``'s calibrated threshold (``model``: a
    :class:`~metrickit.models.base.MetricModel` or its file).

    Every image is read with the model's stored preprocessing (so it must be like the training images:
    an unreadable or wrong-sized file raises naming it) and embedded once.
    """
    from metrickit.distances.functional import paired_euclidean_distances
    from metrickit.models.base import load_model

    source = model
    model = load_model(model) if isinstance(model, (str, os.PathLike)) else model
    if model.threshold is None:
        raise ValueError(f"{source} stores no decision threshold; use a model from `metrickit verify train`.")
    files = sorted({f for pair in pairs for f in pair})
    position = {f: k for k, f in enumerate(files)}
    embeddings = model.embed(model.preprocessing.read_images(files)).astype(np.float64)
    distances = paired_euclidean_distances(embeddings[[position[a] for a, _ in pairs]], embeddings[[position[b] for _, b in pairs]])
    return [{"first": a, "second": b, "distance": float(d), "same": bool(d <= model.threshold)} for (a, b), d in zip(pairs, distances)]


def predict(
    model: str | os.PathLike, *, images: Sequence[str] = (), pairs_file: str | os.PathLike | None = None,
    out: str | os.PathLike | None = None, overwrite: bool = False,
) -> dict[str, Any]:
    """What ``metrickit verify predict`` does: two images or a CSV of pairs, scored with ``model`` (a model file, or a
    ``verify train`` folder's final model); with ``out``, the rows as CSV (first, second, distance, same), atomically."""
    import csv

    from metrickit._io import atomic_path, check_can_write
    from metrickit.models.base import load_model
    from metrickit.runs import final_model, tagged

    if pairs_file and images:
        raise ValueError("give either two images or --pairs CSV, not both.")
    if not pairs_file and len(images) != 2:
        raise ValueError(f"give two images to compare (or --pairs CSV); got {len(images)}.")
    if out:
        check_can_write(out, overwrite=overwrite)
    path = final_model(model)
    loaded = load_model(path)
    rows = predict_pairs(loaded, read_pairs(pairs_file) if pairs_file else [tuple(images)])
    if out:
        with atomic_path(out, overwrite=overwrite) as tmp:
            with open(tmp, "w", newline="") as fh:
                writer = csv.DictWriter(fh, fieldnames=["first", "second", "distance", "same"])
                writer.writeheader()
                writer.writerows(rows)
    return tagged("verify-predict", {"model": str(path), "threshold": loaded.threshold, "pairs": rows, "out": str(out) if out else None})
