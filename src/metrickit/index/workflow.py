"""What ``metrickit index build|search|tune|eval`` do: galleries from embedding files (streamed in chunks from
memory-mapped ``.npy`` or from ``.npz`` files such as ``metrickit embed`` writes) or from images through a model."""

from __future__ import annotations

import mmap
import os
import time
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from metrickit.index.embedding_index import SIDECAR, EmbeddingIndex, index_settings

__all__ = ["build_index", "evaluate_index", "model_normalizes", "read_embeddings", "search_index", "tune_index"]

NORM_TOLERANCE = 1e-3  # rows within this of unit length count as L2-normalised
NORM_SAMPLE = 10_000  # rows of embedding files read to tell whether they are L2-normalised
IMAGE_CHUNK = 1_024  # images decoded and embedded at a time


def read_embeddings(path: str | os.PathLike) -> dict[str, np.ndarray]:
    """``embeddings`` (memory-mapped for ``.npy``) and, from an ``.npz``, its ``ids`` (as names) and ``labels``."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"embeddings file {path} does not exist.")
    if path.suffix.lower() == ".npy":
        return {"embeddings": np.load(path, mmap_mode="r", allow_pickle=False)}
    if path.suffix.lower() != ".npz":
        raise ValueError(f"embeddings file {path} must be .npy or .npz (arrays embeddings, ids, labels); got {path.suffix or 'no suffix'!r}.")
    with np.load(path, allow_pickle=False) as stored:
        if "embeddings" not in stored.files:
            raise ValueError(f"{path} has no array 'embeddings' (it has {', '.join(stored.files) or 'none'}).")
        out = {"embeddings": stored["embeddings"]}
        if "ids" in stored.files:
            out["names"] = stored["ids"].astype(str)
        if "labels" in stored.files:
            out["labels"] = stored["labels"]
    return out


def _model_sha256(model_path: str | os.PathLike | None) -> str | None:
    """The sha256 of the model file (a run folder's final model) that makes the embeddings, or None."""
    if model_path is None:
        return None
    from metrickit._io import file_sha256
    from metrickit.runs import final_model

    return file_sha256(final_model(model_path))


def model_normalizes(model) -> bool:
    """Whether ``model``'s embeddings are L2-normalised (then searched by inner product): a deep model says so; linear
    and Euclidean models do not normalise."""
    embedder = getattr(model, "embedder", None)
    return bool(embedder.normalize) if embedder is not None else False


def _normalised(sample: np.ndarray) -> bool:
    return bool(len(sample)) and bool(np.all(np.abs(np.sqrt(np.einsum("ij,ij->i", sample, sample)) - 1) < NORM_TOLERANCE))  # no temporary the sample's size


def build_index(out: str | os.PathLike, *, embeddings: Sequence[str | os.PathLike] = (), images: str | os.PathLike | None = None,
                model: str | os.PathLike | None = None, kind: str = "auto", chunk_rows: int = 65_536, train_size: int = 100_000,
                overwrite: bool = False, quiet: bool = False, seed: int = 0, **settings) -> dict[str, Any]:
    """Build an index into ``out`` from embedding files (added chunk by chunk, so memory stays near the index's own size)
    or from the images under ``images`` embedded by ``model`` (decoded and embedded ``IMAGE_CHUNK`` at a time, after
    IVF kinds' training sample of ``train_size`` rows, at least 40 per list); ids are the rows in order."""
    from metrickit._progress import progress

    if bool(embeddings) == (images is not None):
        raise ValueError("give embedding files or an image folder (with --model), not both and not neither.")
    if (Path(out) / SIDECAR).exists() and not overwrite:
        raise FileExistsError(f"{out} already holds an index; pass --overwrite or choose another --out.")
    began = time.perf_counter()
    model_sha256, normalized, loaded = _model_sha256(model), None, None
    if model is not None:
        from metrickit.models.base import load_model

        loaded = load_model(model)
        normalized = model_normalizes(loaded)
    if images is not None:
        if model is None:
            raise ValueError("building from images needs --model (the model that embeds them).")
        from metrickit.evaluation.models import image_folder

        files, names, labels = image_folder(images)
        sources = [{"embeddings": _EmbeddedImages(files, loaded), "names": names, **({"labels": labels} if labels is not None else {})}]
    else:
        sources = [read_embeddings(path) for path in embeddings]
    sizes = [len(s["embeddings"]) for s in sources]
    dims = {s["embeddings"].shape[1] for s in sources if s["embeddings"].ndim == 2}
    if len(dims) != 1 or any(s["embeddings"].ndim != 2 for s in sources):
        raise ValueError(f"every embeddings file must hold one (n, dim) matrix of the same dim; got dims {sorted(dims)}.")
    for key in ("names", "labels"):
        if 0 < sum(key in s for s in sources) < len(sources):
            raise ValueError(f"some embedding files have {key} and some do not: give all or none.")
    total, dim = sum(sizes), dims.pop()
    if not total:
        raise ValueError("the gallery is empty: no embeddings to index.")
    training_rows = index_settings(total, dim, kind, **settings).training_rows(total, train_size)
    if normalized is None:  # embedding files: whether rows are unit length is read from the sample
        training_rows = max(training_rows, min(total, NORM_SAMPLE))
    step = {id(s): min(chunk_rows, IMAGE_CHUNK) if isinstance(s["embeddings"], _EmbeddedImages) else chunk_rows for s in sources}
    sample = _training_sample(sources, np.sort(np.random.default_rng(seed).choice(total, training_rows, replace=False)), dim, step)
    if normalized is None:
        normalized = _normalised(sample)
    index = EmbeddingIndex.empty(total, dim, kind=kind, normalized=normalized, model_sha256=model_sha256, **settings)
    if not index.index.is_trained:
        index.train(sample)
    del sample
    chunks = [(s, start) for s in sources for start in range(0, len(s["embeddings"]), step[id(s)])]
    for source, start in progress(chunks, quiet=quiet, desc="indexing", unit="chunk"):
        stop = start + step[id(source)]
        index.add(np.asarray(source["embeddings"][start:stop], dtype=np.float32), labels=source["labels"][start:stop] if "labels" in source else None,
                  names=source["names"][start:stop] if "names" in source else None)
        _release_pages(source["embeddings"])
    seconds = time.perf_counter() - began
    index.build_seconds = seconds
    index.save(out, overwrite=overwrite)
    return {"out": str(out), "kind": index.kind, "factory": index.settings.factory, "count": len(index), "dim": dim,
            "normalized": normalized, "build_seconds": seconds, "index_bytes": (Path(out) / "index.faiss").stat().st_size}


def _training_sample(sources: list[dict], rows: np.ndarray, dim: int, step: dict[int, int]) -> np.ndarray:
    """The gallery's ``rows`` (sorted positions over all sources) as one float32 matrix, filled in place a chunk at a time
    with each chunk's pages released: a list of per-file samples joined by concatenate held the sample twice, and the
    sampled pages of every file stayed resident (an IVF16000,PQ32 build from a million rows peaked at 1.7 GiB for a
    46 MiB index)."""
    sample = np.empty((len(rows), dim), dtype=np.float32)
    filled, start = 0, 0
    for source in sources:
        stop = start + len(source["embeddings"])
        mine = rows[(rows >= start) & (rows < stop)] - start
        for first in range(0, len(mine), step[id(source)]):
            chunk = mine[first : first + step[id(source)]]
            sample[filled : filled + len(chunk)] = source["embeddings"][chunk]
            filled += len(chunk)
            _release_pages(source["embeddings"])
        start = stop
    return sample


def _release_pages(rows) -> None:
    """Unmap the pages a memory-mapped ``.npy`` has read so far (they stay in the page cache, not in this process), so
    a streaming build holds the index and one chunk, not every chunk it has read."""
    mapped = getattr(rows, "_mmap", None)
    if mapped is not None and hasattr(mmap, "MADV_DONTNEED"):
        mapped.madvise(mmap.MADV_DONTNEED)


class _EmbeddedImages:
    """Image files as a lazy (n, dim) matrix: rows are read and embedded by the model when indexed, so a build holds
    one chunk of images at a time."""

    def __init__(self, files: list[Path], model):
        self.files, self.model = files, model
        self.shape = (len(files), self[:1].shape[1])
        self.ndim = 2

    def __len__(self) -> int:
        return len(self.files)

    def __getitem__(self, rows) -> np.ndarray:
        chosen = self.files[rows] if isinstance(rows, slice) else [self.files[int(i)] for i in np.asarray(rows).ravel()]
        if not chosen:
            return np.zeros((0, self.shape[1]), dtype=np.float32)
        blocks = [self.model.embed(self.model.preprocessing.read_images(chosen[start : start + IMAGE_CHUNK]))
                  for start in range(0, len(chosen), IMAGE_CHUNK)]  # a training sample of many images: a block at a time
        return np.concatenate(blocks).astype(np.float32, copy=False)


def _queries(embeddings: str | os.PathLike | None, images: str | os.PathLike | None, model: str | os.PathLike | None) -> dict[str, np.ndarray]:
    if (embeddings is None) == (images is None):
        raise ValueError("give query embeddings or query images (with --model), not both and not neither.")
    if images is not None:
        if model is None:
            raise ValueError("query images need --model (the model the index was built with).")
        from metrickit.evaluation.models import embed_path

        arrays = embed_path(images, model)
        return {"embeddings": arrays["embeddings"], "names": arrays["ids"]}
    return read_embeddings(embeddings)


def search_index(index_dir: str | os.PathLike, out: str | os.PathLike, *, embeddings=None, images=None, model=None, k: int = 10,
                 overwrite: bool = False) -> dict[str, Any]:
    """Search the index in ``index_dir`` with query embeddings or images; write a CSV of query, rank, id, name, label,
    score (squared distance, or inner product) at ``out``."""
    import csv
    import io

    from metrickit._io import atomic_path, check_can_write

    check_can_write(out, overwrite=overwrite)
    model_sha256 = _model_sha256(model)
    index = EmbeddingIndex.load(index_dir, model_sha256=model_sha256)
    queries = _queries(embeddings, images, model)
    scores, ids = index.search(np.asarray(queries["embeddings"], dtype=np.float32), k)
    names = queries.get("names", np.arange(len(ids)).astype(str))
    gallery_names = index.names_of(ids) if index.names is not None else ids.astype(str)
    labels = index.labels_of(ids) if index.labels is not None else np.full(ids.shape, "")
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["query", "rank", "id", "name", "label", "inner_product" if index.inner_product else "squared_distance"])
    for q in range(len(ids)):
        for rank in range(ids.shape[1]):
            writer.writerow([names[q], rank + 1, int(ids[q, rank]), gallery_names[q, rank], labels[q, rank], f"{scores[q, rank]:.6g}"])
    with atomic_path(out, overwrite=overwrite) as tmp:
        tmp.write_text(buffer.getvalue())
    return {"out": str(out), "queries": len(ids), "k": k}


def _gallery(paths: Sequence[str | os.PathLike]) -> np.ndarray:
    return np.concatenate([np.asarray(read_embeddings(p)["embeddings"], dtype=np.float32) for p in paths])


def tune_index(index_dir: str | os.PathLike, queries: str | os.PathLike, gallery: Sequence[str | os.PathLike], *,
               target_recall: float = 0.95, k: int = 10) -> dict[str, Any]:
    """Tune the saved index's search effort on held-out query embeddings against exact search over the gallery files
    it was built from (in the same order), and save it with the measured recall."""
    index = EmbeddingIndex.load(index_dir)
    report = index.tune(np.asarray(read_embeddings(queries)["embeddings"], dtype=np.float32), _gallery(gallery), target_recall=target_recall, k=k)
    index.save(index_dir, overwrite=True)
    return report


def evaluate_index(index_dir: str | os.PathLike, queries: str | os.PathLike, gallery: Sequence[str | os.PathLike], *, k: int = 10,
                   single_queries: int = 200) -> dict[str, Any]:
    """Recall@1 and @k against exact search, queries per second one at a time (the first ``single_queries``) and all at
    once, the index file's size and its build time."""
    from metrickit.index.recall import exact_top_k, recall_at_k

    index = EmbeddingIndex.load(index_dir)
    query = np.asarray(read_embeddings(queries)["embeddings"], dtype=np.float32)
    exact = index.ids[exact_top_k(query.astype(np.float64), _gallery(gallery).astype(np.float64), k, inner_product=index.inner_product)]
    began = time.perf_counter()
    found = index.search(query, k)[1]
    batch_qps = len(query) / (time.perf_counter() - began)
    one = query[:single_queries]
    began = time.perf_counter()
    for row in range(len(one)):
        index.search(one[row : row + 1], k)
    single_qps = len(one) / (time.perf_counter() - began)
    return {"kind": index.kind, "count": len(index), "k": k, "recall_at_1": recall_at_k(found, exact, 1),
            f"recall_at_{k}": recall_at_k(found, exact, k), "queries_per_second_batch": batch_qps, "queries_per_second_single": single_qps,
            "search_effort": index.search_effort, "index_bytes": (Path(index_dir) / "index.faiss").stat().st_size,
            "build_seconds": index.build_seconds}
