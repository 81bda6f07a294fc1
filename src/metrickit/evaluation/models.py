"""Evaluate and use saved deep models on datasets and folders (what ``metrickit evaluate`` and ``embed`` run)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Sequence

import numpy as np

__all__ = ["embed_path", "embed_to_file", "evaluate_model", "image_folder"]


def evaluate_model(
    model_path: str | os.PathLike | None,
    dataset: str,
    *,
    split: str = "test",
    classes: Sequence | None = None,
    data_dir: str | os.PathLike | None = None,
    image_size: int | None = None,
    labels: str | os.PathLike | None = None,
    label_column: int | None = None,
    n_neighbors: int = 5,
    backend: str = "auto",
) -> dict[str, Any]:
    """Retrieval metrics (leave-one-out within the chosen classes) of a saved model (any kind :func:`~metrickit.load_model`
    reads), or of Euclidean distance on the preprocessed inputs when ``model_path`` is None."""
    from metrickit.datasets.labeled import load_labeled, split_by_classes
    from metrickit.evaluation.retrieval import retrieval_metrics
    from metrickit.models.base import EuclideanModel, load_model
    from metrickit.runs import tagged

    model = load_model(model_path) if model_path is not None else None
    data = load_labeled(dataset, split, data_dir=data_dir, image_size=image_size, preprocessing=model.preprocessing if model else None,
                        labels=labels, label_column=label_column)
    model = model or EuclideanModel(data.preprocessing)
    if classes is not None:
        data = data.subset(split_by_classes(data.labels, classes))
    report = retrieval_metrics(model.embed_prepared(data.X), data.labels, n_neighbors=n_neighbors, backend=backend)
    seen = sorted(set(np.unique(data.labels).tolist()) & set(model.training_classes), key=str)
    return tagged("retrieval-eval", {"model": str(model_path) if model_path else "euclidean", "dataset": dataset, "split": split,
                                     "classes": sorted(np.unique(data.labels).tolist(), key=str), "classes_seen_in_training": seen,
                                     **report.as_dict()})


def image_folder(path: str | os.PathLike, label_depth: int | None = None) -> tuple[list[Path], np.ndarray, np.ndarray | None]:
    """The image files under ``path`` (sorted), their ids (paths relative to ``path``) and labels: the first
    ``label_depth`` folders below ``path`` (``user12/genuine/x.png`` is ``user12`` at depth 1, ``user12/genuine`` at
    depth 2); by default 1 when every image lies in a sub-folder, else no labels (None); 0 means no labels."""
    from metrickit._validation import check_positive_int
    from metrickit.datasets.labeled import IMAGE_SUFFIXES
    from metrickit.exceptions import DatasetNotFoundError

    if label_depth is not None:
        label_depth = check_positive_int(label_depth, "label_depth", minimum=0)
    path = Path(path)
    files = sorted(p for p in path.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES)
    if not files:
        raise DatasetNotFoundError(f"{path} holds no images ({', '.join(IMAGE_SUFFIXES)}).")
    relative = [p.relative_to(path) for p in files]
    depth = label_depth if label_depth is not None else int(all(len(r.parts) > 1 for r in relative))
    labels = None
    if depth:
        shallow = next((r for r in relative if len(r.parts) <= depth), None)
        if shallow is not None:
            raise ValueError(f"`label_depth` ({depth}) labels images by the {depth} folder(s) below {path}, but {shallow} lies "
                             "higher; lower --label-depth or move it.")
        labels = np.array(["/".join(r.parts[:depth]) for r in relative])
    return files, np.array([str(r) for r in relative]), labels


def embed_path(path: str | os.PathLike, model_path: str | os.PathLike, *, label_depth: int | None = None) -> dict[str, np.ndarray]:
    """Embeddings of every image under a folder (see :func:`image_folder` for ids and labels), of one image file, or of
    a features file: ``embeddings`` (n, embedding_dim), ``ids`` (file names relative to ``path``, or row numbers) and,
    for labelled folders or files, ``labels``."""
    from metrickit.datasets.labeled import IMAGE_SUFFIXES
    from metrickit.datasets.tabular import load_features
    from metrickit.exceptions import DatasetNotFoundError
    from metrickit.models.base import load_model

    model = load_model(model_path)
    path = Path(path)
    out: dict[str, np.ndarray] = {}
    if path.is_dir():
        files, out["ids"], labels = image_folder(path, label_depth)
        raw = model.preprocessing.read_images(files)
        if labels is not None:
            out["labels"] = labels
    elif path.is_file() and path.suffix.lower() in IMAGE_SUFFIXES:
        raw = model.preprocessing.read_images([path])
        out["ids"] = np.array([path.name])
    elif path.is_file():
        raw, labels = load_features(path)
        out["ids"] = np.arange(len(raw)).astype(str)
        if labels is not None:
            out["labels"] = labels
    else:
        raise DatasetNotFoundError(f"{path} does not exist.")
    out["embeddings"] = model.embed(raw)
    return out


def embed_to_file(path: str | os.PathLike, model_path: str | os.PathLike, out: str | os.PathLike, *, label_depth: int | None = None,
                  overwrite: bool = False) -> dict[str, Any]:
    """What ``metrickit embed`` does: :func:`embed_path`, saved as an ``.npz`` at ``out`` (checked first, written atomically)."""
    from metrickit._io import atomic_path, check_can_write

    check_can_write(out, overwrite=overwrite)
    arrays = embed_path(path, model_path, label_depth=label_depth)
    with atomic_path(out, overwrite=overwrite) as tmp:
        with open(tmp, "wb") as fh:
            np.savez(fh, **arrays)
    return {"out": str(out), "n": len(arrays["embeddings"]), "embedding_dim": int(arrays["embeddings"].shape[1]), "arrays": sorted(arrays)}
