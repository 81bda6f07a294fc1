"""A gallery of embeddings, searchable with faiss: exact (``flat``) or approximate (``hnsw``, ``ivf``, ``ivfpq``).

The distance follows the model: squared Euclidean distance, or inner product for L2-normalised embeddings (the same
ranking, faster); a learned Mahalanobis metric is applied by the model that makes the embeddings. Defaults follow
faiss's guidelines: exact search up to 50,000 vectors, IVF with 16 sqrt(N) lists below a million (an HNSW coarse
quantiser above), product quantisation with dim / 4 one-byte codes. Ids and labels stay with the index; ``tune``
picks the least search effort that reaches a recall target, measured against exact search on held-out queries.
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from metrickit._validation import check_array_2d, check_positive_int, validate_choice

__all__ = ["KINDS", "EmbeddingIndex", "IndexSettings", "index_settings"]

KINDS = ("flat", "hnsw", "ivf", "ivfpq")
INDEX_FILE, SIDECAR, IDS_FILE = "index.faiss", "index.json", "ids.npz"
FORMAT = "metrickit.index/1"
_EFFORT = {"hnsw": "efSearch", "ivf": "nprobe", "ivfpq": "nprobe"}


@dataclass(frozen=True)
class IndexSettings:
    """What faiss builds: ``kind``, its factory string and the build parameters (lists, codes, graph degree)."""

    kind: str
    factory: str
    parameters: dict[str, int] = field(default_factory=dict)

    def training_rows(self, n: int, train_size: int) -> int:
        """How many of ``n`` rows train the quantisers: ``train_size``, raised to 40 per IVF list (faiss warns below
        39), never more than ``n``; 0 for kinds that need no training."""
        lists = self.parameters.get("nlist")
        return 0 if lists is None else min(n, max(train_size, 40 * lists))


def index_settings(n: int, dim: int, kind: str = "auto", *, nlist: int | None = None, pq_m: int | None = None,
                   hnsw_m: int = 32, hnsw_ef_construction: int = 200) -> IndexSettings:
    """The index for ``n`` vectors of ``dim``: ``kind`` 'auto' is exact up to 50,000 vectors, else IVF. HNSW graphs
    have ``hnsw_m`` links a node (twice that on the base layer) and are built with ``hnsw_ef_construction`` candidates
    (faiss's default is 40; 200, as hnswlib's, builds slower but keeps clustered data connected: on the benchmark's
    million vectors from 10,000 clusters HNSW32 built at 40 needed efSearch 768 for recall@10 0.95, HNSW64 built at
    200 needed 32).
    IVF gets 16 sqrt(N) lists, the top of faiss's 4-16 sqrt(N) (at least 39 points a list): lists fewer than the
    data's natural clusters cut through them (on that gallery of 10,000 clusters IVF4000 needed nprobe 512, IVF16000
    nprobe 4)."""
    validate_choice(kind, "kind", ("auto", *KINDS))
    if kind == "auto":
        kind = "flat" if n <= 50_000 else "ivf"
    if kind == "flat":
        return IndexSettings(kind, "IDMap2,Flat")
    if kind == "hnsw":
        hnsw_m = check_positive_int(hnsw_m, "hnsw_m")
        return IndexSettings(kind, f"IDMap2,HNSW{hnsw_m}",
                             {"hnsw_m": hnsw_m, "hnsw_ef_construction": check_positive_int(hnsw_ef_construction, "hnsw_ef_construction")})
    lists = nlist if nlist is not None else int(min(max(1, round(16 * math.sqrt(n))), max(1, n // 39)))  # faiss wants >= 39 points a list
    lists = check_positive_int(lists, "nlist", maximum=max(1, n))
    coarse = f"IVF{lists}_HNSW32" if n > 1_000_000 else f"IVF{lists}"
    if kind == "ivf":
        return IndexSettings(kind, f"{coarse},Flat", {"nlist": lists})
    m = pq_m if pq_m is not None else max(d for d in range(1, max(1, dim // 4) + 1) if dim % d == 0)
    if dim % m:
        raise ValueError(f"`pq_m` ({m}) must divide the embedding dimension ({dim}).")
    return IndexSettings(kind, f"{coarse},PQ{m}", {"nlist": lists, "pq_m": m})


class EmbeddingIndex:
    """Embeddings (n, dim) with ids and optional labels in a faiss index; see the module docstring.

    Build with :meth:`build` (trains IVF quantisers on a sample of at most ``train_size`` rows), extend with
    :meth:`add`, :meth:`remove` ids (flat and IVF kinds; HNSW graphs cannot drop nodes), :meth:`search`, :meth:`tune`
    the search effort to a recall target, :meth:`save` and :meth:`load` with a JSON sidecar that ties the index to the
    model file that made its embeddings.
    """

    def __init__(self, index, settings: IndexSettings, *, dim: int, inner_product: bool, model_sha256: str | None = None):
        self.index, self.settings, self.dim, self.inner_product = index, settings, int(dim), bool(inner_product)
        self.model_sha256 = model_sha256
        self.ids = np.zeros(0, dtype=np.int64)
        self.labels: np.ndarray | None = None  # one per id, in the order of ids
        self.names: np.ndarray | None = None  # the gallery items' own names (file paths), one per id
        self.search_effort: int | None = None
        self.recall: dict[str, Any] | None = None
        self.build_seconds: float | None = None

    @property
    def kind(self) -> str:
        return self.settings.kind

    def __len__(self) -> int:
        return int(self.index.ntotal)

    @classmethod
    def build(cls, embeddings, *, ids=None, labels=None, kind: str = "auto", normalized: bool = False, model_sha256: str | None = None,
              train_size: int = 100_000, seed: int = 0, **settings) -> "EmbeddingIndex":
        """An index over ``embeddings`` (ids default to 0..n-1); ``normalized`` embeddings are searched by inner product.
        IVF kinds train on a seeded sample of ``train_size`` rows (at least 40 per list)."""
        embeddings = _embeddings(embeddings, "embeddings")
        if not len(embeddings):
            raise ValueError("`embeddings` is empty: an index needs at least one gallery embedding.")
        index = cls.empty(len(embeddings), embeddings.shape[1], kind=kind, normalized=normalized, model_sha256=model_sha256, **settings)
        if not index.index.is_trained:
            rows = np.random.default_rng(seed).choice(len(embeddings), index.settings.training_rows(len(embeddings), train_size), replace=False)
            index.train(embeddings[np.sort(rows)])
        index.add(embeddings, ids=ids, labels=labels)
        return index

    @classmethod
    def empty(cls, n_expected: int, dim: int, *, kind: str = "auto", normalized: bool = False, model_sha256: str | None = None,
              **settings) -> "EmbeddingIndex":
        """An index sized for about ``n_expected`` vectors of ``dim``, to :meth:`train` (IVF kinds) and fill by :meth:`add`
        (for streaming builds)."""
        faiss = _faiss()
        chosen = index_settings(check_positive_int(n_expected, "n_expected"), check_positive_int(dim, "dim"), kind, **settings)
        metric = faiss.METRIC_INNER_PRODUCT if normalized else faiss.METRIC_L2
        index = faiss.index_factory(dim, chosen.factory, metric)
        if chosen.kind == "ivfpq":  # the factory's polysemous training serves Hamming-filtered search, which is not used here
            faiss.downcast_index(faiss.extract_index_ivf(index)).do_polysemous_training = False
        if chosen.kind == "hnsw":
            faiss.downcast_index(index.index).hnsw.efConstruction = chosen.parameters["hnsw_ef_construction"]
        return cls(index, chosen, dim=dim, inner_product=normalized, model_sha256=model_sha256)

    def train(self, sample) -> None:
        """Train the coarse quantiser (and product quantiser) on ``sample`` rows (at least one per list)."""
        sample = _embeddings(sample, "sample", self.dim)
        lists = self.settings.parameters.get("nlist", 1)
        if len(sample) < lists:
            raise ValueError(f"`sample` has {len(sample)} rows; training {lists} lists needs at least that many (faiss wants 39 per list).")
        self.index.train(sample)

    def add(self, embeddings, *, ids=None, labels=None, names=None) -> None:
        """Add embeddings with their ``ids`` (default: after the largest id so far), ``labels`` and ``names`` (each given
        for every addition or for none)."""
        embeddings = _embeddings(embeddings, "embeddings", self.dim)
        start = int(self.ids.max()) + 1 if len(self.ids) else 0
        ids = np.arange(start, start + len(embeddings), dtype=np.int64) if ids is None else np.asarray(ids, dtype=np.int64).ravel()
        if len(ids) != len(embeddings):
            raise ValueError(f"`ids` has {len(ids)} entries for {len(embeddings)} embeddings.")
        if len(np.unique(ids)) != len(ids) or np.isin(ids, self.ids).any():
            raise ValueError("`ids` must be unique and not already in the index.")
        extra = {}
        for name, values in (("labels", labels), ("names", names)):
            held = getattr(self, name)
            if len(self.ids) and (values is None) != (held is None):
                raise ValueError(f"`{name}` must be given for every addition or for none (the index has {'' if held is not None else 'no '}{name}).")
            if values is not None:
                values = np.asarray(values).ravel()
                if len(values) != len(embeddings):
                    raise ValueError(f"`{name}` has {len(values)} entries for {len(embeddings)} embeddings.")
                extra[name] = values if held is None else np.concatenate([held, values])
        self.index.add_with_ids(embeddings, ids)
        for name, values in extra.items():
            setattr(self, name, values)
        self.ids = np.concatenate([self.ids, ids])

    def remove(self, ids) -> int:
        """Remove ``ids`` (those present); returns how many were removed. HNSW graphs cannot remove: rebuild instead."""
        if self.kind == "hnsw":
            raise ValueError("an 'hnsw' index cannot remove vectors (faiss's HNSW graph has no deletion): rebuild it, or use 'flat' or 'ivf'.")
        ids = np.asarray(ids, dtype=np.int64).ravel()
        removed = int(self.index.remove_ids(ids))
        keep = ~np.isin(self.ids, ids)
        self.ids = self.ids[keep]
        self.labels = self.labels[keep] if self.labels is not None else None
        self.names = self.names[keep] if self.names is not None else None
        return removed

    def search(self, queries, k: int = 10) -> tuple[np.ndarray, np.ndarray]:
        """``(scores, ids)`` of each query's ``k`` nearest gallery entries, nearest first: squared distances, or inner
        products for a normalised index."""
        queries = _embeddings(queries, "queries", self.dim)
        n = len(self.ids)  # kept with the index (add, remove, load); reading faiss's ntotal costs half a microsecond
        if type(k) is not int or not 0 < k <= n:  # a plain int in range skips the checks (a microsecond a call, one query at a time)
            if not n:
                raise ValueError("the index is empty: add gallery embeddings before searching.")
            k = check_positive_int(k, "k", maximum=n)
        return self.index.search(queries, k)

    def labels_of(self, ids: np.ndarray) -> np.ndarray:
        """The labels of ``ids`` (as :meth:`search` returns them)."""
        return self._of("labels", ids)

    def names_of(self, ids: np.ndarray) -> np.ndarray:
        """The names (file paths) of ``ids``."""
        return self._of("names", ids)

    def _of(self, name: str, ids: np.ndarray) -> np.ndarray:
        values = getattr(self, name)
        if values is None:
            raise ValueError(f"this index was built without {name}.")
        order = np.argsort(self.ids, kind="stable")
        ids = np.asarray(ids, dtype=np.int64)
        found = np.clip(np.searchsorted(self.ids[order], ids), 0, len(order) - 1)
        if not np.array_equal(self.ids[order][found], ids):
            raise ValueError("some ids are not in the index (a search that found fewer than k neighbours returns -1).")
        return values[order[found]]

    def set_effort(self, value: int) -> None:
        """The search effort: ``nprobe`` lists for IVF kinds, ``efSearch`` for HNSW (no effect on 'flat')."""
        if self.kind == "flat":
            return
        value = check_positive_int(value, _EFFORT[self.kind])
        if self.kind == "hnsw":
            _faiss().downcast_index(self.index.index).hnsw.efSearch = value
        else:
            _faiss().extract_index_ivf(self.index).nprobe = min(value, self.settings.parameters["nlist"])
        self.search_effort = value

    def efforts(self) -> list[int]:
        """The efforts :meth:`tune` tries, smallest first."""
        if self.kind == "flat":
            return []
        if self.kind == "hnsw":
            return [16, 20, 24, 28, 32, 40, 48, 56, 64, 80, 96, 128, 192, 256, 384, 512, 768, 1024, 2048]
        lists = self.settings.parameters["nlist"]
        return sorted({min(lists, 2**i) for i in range(int(math.log2(lists)) + 2)})

    def tune(self, queries, gallery, *, target_recall: float = 0.95, k: int = 10, exact: np.ndarray | None = None,
             plateau: float = 0.001) -> dict[str, Any]:
        """Set the least effort whose recall@``k`` on ``queries`` (held out: not in the index) reaches ``target_recall``,
        against exact search over ``gallery`` (the indexed embeddings, in the order of :attr:`ids`), or against
        ``exact``, the gallery positions of each query's exact top ``k`` when already known (``gallery`` is then only
        checked for its size). Records and returns what was measured. If no effort reaches the target, ``reached`` is
        False and the effort kept is where recall stopped rising: the largest tried, or, once two steps in a row each
        gain less than ``plateau`` (an IVF-PQ's codes cap its recall, and four times the probes then buy nothing), the
        effort before them; ``stopped`` says which."""
        queries, gallery = _embeddings(queries, "queries", self.dim), _embeddings(gallery, "gallery", self.dim)
        if len(gallery) != len(self):
            raise ValueError(f"`gallery` has {len(gallery)} rows; the index holds {len(self)}.")
        if not 0 < target_recall <= 1:
            raise ValueError(f"`target_recall` must be in (0, 1]; got {target_recall!r}.")
        if not plateau >= 0:
            raise ValueError(f"`plateau` must be a recall gain >= 0; got {plateau!r}.")
        from metrickit.index.recall import exact_top_k, recall_at_k

        if exact is None:
            exact = exact_top_k(queries.astype(np.float64), gallery.astype(np.float64), k, inner_product=self.inner_product)
        elif np.shape(exact)[:1] != (len(queries),) or np.ndim(exact) != 2 or np.shape(exact)[1] < k:
            raise ValueError(f"`exact` must hold {len(queries)} rows of at least {k} gallery positions; got shape {np.shape(exact)}.")
        exact = self.ids[np.asarray(exact)[:, :k]]
        tried, stopped, best = [], "end of efforts", None
        for effort in self.efforts() or [None]:
            if effort is not None:
                self.set_effort(effort)
            found = self.search(queries, k)[1]
            tried.append({"effort": effort, f"recall_at_{k}": recall_at_k(found, exact, k), "recall_at_1": recall_at_k(found, exact, 1)})
            recalls = [row[f"recall_at_{k}"] for row in tried[-3:]]
            if recalls[-1] >= target_recall:
                stopped = "target reached"
                break
            if len(recalls) == 3 and recalls[1] - recalls[0] < plateau and recalls[2] - recalls[1] < plateau:
                stopped, best = "plateau", tried[-3]
                self.set_effort(best["effort"])
                break
        best = best or tried[-1]
        self.recall = {"k": k, "target": target_recall, "reached": best[f"recall_at_{k}"] >= target_recall, "effort_name": _EFFORT.get(self.kind),
                       "effort": best["effort"], f"recall_at_{k}": best[f"recall_at_{k}"], "recall_at_1": best["recall_at_1"],
                       "n_queries": len(queries), "stopped": stopped, "tried": tried}
        return self.recall

    def save(self, folder: str | os.PathLike, *, overwrite: bool = False) -> Path:
        """Write ``folder/index.faiss`` (faiss's own format), ``ids.npz`` and the sidecar ``index.json`` last, each
        atomically; the sidecar records the files' sha256, so a truncated or swapped file is refused on load."""
        from metrickit import __version__
        from metrickit._io import atomic_path, file_sha256, write_json_atomic

        faiss = _faiss()
        folder = Path(folder)
        if (folder / SIDECAR).exists() and not overwrite:
            raise FileExistsError(f"{folder} already holds an index; pass overwrite=True (--overwrite) or choose another folder.")
        folder.mkdir(parents=True, exist_ok=True)
        with atomic_path(folder / INDEX_FILE, overwrite=True) as tmp:
            faiss.write_index(self.index, str(tmp))
        with atomic_path(folder / IDS_FILE, overwrite=True) as tmp:
            with open(tmp, "wb") as handle:
                np.savez(handle, ids=self.ids, **{name: getattr(self, name) for name in ("labels", "names") if getattr(self, name) is not None})
        sidecar = {"format": FORMAT, "kind": self.kind, "factory": self.settings.factory, "parameters": self.settings.parameters,
                   "dim": self.dim, "metric": "inner_product" if self.inner_product else "squared_l2", "normalized": self.inner_product,
                   "count": len(self), "labels": self.labels is not None, "search_effort": self.search_effort, "recall": self.recall, "build_seconds": self.build_seconds,
                   "model_sha256": self.model_sha256, "faiss_version": faiss.__version__, "metrickit_version": __version__,
                   "files": {name: file_sha256(folder / name) for name in (INDEX_FILE, IDS_FILE)}}
        write_json_atomic(folder / SIDECAR, sidecar, overwrite=True)
        return folder

    @classmethod
    def load(cls, folder: str | os.PathLike, *, model_sha256: str | None = None) -> "EmbeddingIndex":
        """The index saved in ``folder``; with ``model_sha256`` (of the model that embeds the queries), an index built
        from another model's embeddings is refused."""
        from metrickit._io import file_sha256

        faiss = _faiss()
        folder = Path(folder)
        if not (folder / SIDECAR).is_file():
            raise FileNotFoundError(f"{folder} holds no metrickit index ({SIDECAR} is missing).")
        try:
            sidecar = json.loads((folder / SIDECAR).read_text())
        except (OSError, ValueError) as error:
            raise ValueError(f"{folder / SIDECAR} is not readable JSON: {error}") from None
        if sidecar.get("format") != FORMAT:
            raise ValueError(f"{folder / SIDECAR} is not a {FORMAT} sidecar.")
        for name, digest in sidecar["files"].items():
            if not (folder / name).is_file() or file_sha256(folder / name) != digest:
                raise ValueError(f"{folder / name} is missing, truncated or not the file this index was saved with (sha256 mismatch).")
        if model_sha256 is not None and sidecar["model_sha256"] not in (None, model_sha256):
            raise ValueError(f"the index in {folder} was built from another model's embeddings (model sha256 "
                             f"{sidecar['model_sha256'][:12]}..., queries from {model_sha256[:12]}...): rebuild it with this model.")
        settings = IndexSettings(sidecar["kind"], sidecar["factory"], sidecar["parameters"])
        index = cls(faiss.read_index(str(folder / INDEX_FILE)), settings, dim=sidecar["dim"], inner_product=sidecar["normalized"],
                    model_sha256=sidecar["model_sha256"])
        with np.load(folder / IDS_FILE, allow_pickle=False) as stored:
            index.ids = stored["ids"]
            index.labels = stored["labels"] if "labels" in stored.files else None
            index.names = stored["names"] if "names" in stored.files else None
        if sidecar["search_effort"] is not None:
            index.set_effort(sidecar["search_effort"])
        index.recall, index.build_seconds = sidecar["recall"], sidecar.get("build_seconds")
        return index


def _embeddings(values, name: str, dim: int | None = None) -> np.ndarray:
    """A C-contiguous float32 matrix of finite values (faiss's input), or a one-line error naming ``name``. An array
    that already is one passes with a single finiteness check: its dot product with itself (one BLAS call, half the
    cost of ``isfinite(...).all()`` on a query, which a 30 µs search notices), finite unless a value is NaN or infinite
    or the squares overflow, when the element-wise check decides."""
    if (isinstance(values, np.ndarray) and values.dtype == np.float32 and values.ndim == 2 and values.flags.c_contiguous
            and (dim is None or values.shape[1] == dim) and (math.isfinite(np.vdot(values, values)) or np.isfinite(values).all())):
        return values
    array = check_array_2d(values, name, dtype=np.float32, n_features=dim)
    return np.ascontiguousarray(array)


def _faiss():
    try:
        import faiss
    except ImportError as error:
        from metrickit.exceptions import MissingDependencyError

        raise MissingDependencyError('indexes need faiss: pip install "metrickit[faiss]"') from error
    return faiss
