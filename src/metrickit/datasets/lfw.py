"""Labeled Faces in the Wild (``lfw/``): 13,233 grayscale 250 x 250 faces of 5,749 people and the official pair lists.

The images (``lfw.zip``: ``lfw/<Name>/<Name>_NNNN.jpg``) are decoded once through a face crop (a square of ``crop``
pixels around the face's centre, resized to ``size`` x ``size``) into the user cache (:func:`~metrickit.datasets.paths.cache_dir`),
keyed by the archive's sha256 and the crop, as uint8; the full-size images would take 0.83 GB. The crop is a
:class:`Preprocessing`, which every trained model stores, so a new 250 x 250 LFW-style image is cut the same way.

Pair lists (:class:`PairList`): View 1 ``pairsDevTrain.txt`` (1,100 matched + 1,100 mismatched) and ``pairsDevTest.txt``
(500 + 500), for development; View 2 ``pairs.txt``, 10 folds of 300 matched then 300 mismatched pairs, person-disjoint,
for the final report only. A header gives the folds and the pairs per class; each line is ``name i j`` (matched) or
``name1 i name2 j`` (mismatched), ``i`` the 1-based image number. Every reference is resolved to an image here, and a
line that does not parse or resolve is refused with the file and line number.
"""

from __future__ import annotations

import hashlib
import io
import os
import re
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from metrickit.datasets.labeled import LabeledSet, Preprocessing
from metrickit.datasets.paths import cache_dir, dataset_dir, open_archive

__all__ = ["CENTRE", "PAIR_FILES", "PairList", "lfw_preprocessing", "load_lfw", "load_pair_list"]

PAIR_FILES = {"dev-train": "pairsDevTrain.txt", "dev-test": "pairsDevTest.txt", "view2": "pairs.txt"}
CENTRE = (128, 125)  # (row, column) of the face's centre in the aligned 250 x 250 images: between the eyes and the mouth
SIDE = 250
_ENTRY = re.compile(r"^(?:[^/]+/)?([^/]+)/\1_(\d{4})\.jpg$")
_DECODE_VERSION = 1


def lfw_preprocessing(crop: int = 120, size: int = 64) -> Preprocessing:
    """The face crop: a ``crop`` x ``crop`` square centred on :data:`CENTRE`, resized to ``size`` x ``size`` (bilinear)."""
    if not 8 <= crop <= SIDE or not 8 <= size <= crop:
        raise ValueError(f"`crop` must lie in [8, {SIDE}] and `size` in [8, crop]; got crop={crop}, size={size}.")
    top = min(max(CENTRE[0] - crop // 2, 0), SIDE - crop)
    left = min(max(CENTRE[1] - crop // 2, 0), SIDE - crop)
    return Preprocessing("image", (1, size, size), scale=1 / 255, crop=(top, left, crop, crop), resize=True)


def load_lfw(preprocessing: Preprocessing | None = None, data_dir: str | os.PathLike | None = None,
             cache: str | os.PathLike | None = None, quiet: bool = True) -> LabeledSet:
    """Every LFW image, decoded by ``preprocessing`` (default :func:`lfw_preprocessing`), labelled by person, in archive
    order (people sorted, then image number). ``extra['number']`` is the image's number within its person and
    ``extra['digest']`` the md5 of its JPEG bytes (two images are byte-identical under different names)."""
    from metrickit._io import atomic_path, file_sha256

    prep = preprocessing or lfw_preprocessing()
    path = dataset_dir("lfw", data_dir) / "lfw.zip"
    if not path.is_file():
        from metrickit.exceptions import DatasetNotFoundError

        raise DatasetNotFoundError(f"archive {path} does not exist (expected LFW's lfw.zip of lfw/<Name>/<Name>_NNNN.jpg).")
    decoding = replace(prep, mean=0.0, std=1.0)  # what decoding depends on: the crop and the size, not the standardisation
    key = hashlib.sha256(repr(sorted(decoding.as_dict().items())).encode()).hexdigest()[:12]
    cached = Path(cache if cache is not None else cache_dir()) / f"lfw-{file_sha256(path)[:16]}-{key}-v{_DECODE_VERSION}.npz"
    if cached.is_file():
        with np.load(cached, allow_pickle=False) as stored:
            images, people, numbers, digests = (stored[k] for k in ("images", "people", "numbers", "digests"))
    else:
        images, people, numbers, digests = _decode(path, prep, quiet)
        with atomic_path(cached, overwrite=True) as tmp:
            with open(tmp, "wb") as fh:
                np.savez(fh, images=images, people=people, numbers=numbers, digests=digests)
    ids = [f"{person}/{person}_{number:04d}.jpg" for person, number in zip(people.tolist(), numbers.tolist())]
    return LabeledSet(images, people, prep, ids, {"number": numbers, "digest": digests}, "lfw", prepared=False)


def _decode(path: Path, prep: Preprocessing, quiet: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    from metrickit._progress import progress

    expected = "LFW's lfw.zip of lfw/<Name>/<Name>_NNNN.jpg"
    with open_archive(path, expected) as archive:
        entries = sorted((m.group(1), int(m.group(2)), name) for name in archive.namelist() if (m := _ENTRY.match(name)))
        if not entries:
            raise ValueError(f"{path} holds no images named <Name>/<Name>_NNNN.jpg; expected {expected}.")
        images = np.empty((len(entries), *prep.shape), dtype=np.uint8)
        digests = []
        for k, (_, _, name) in enumerate(progress(entries, quiet=quiet, desc="decoding LFW (once; cached)", unit="image")):
            data = archive.read(name)
            digests.append(hashlib.md5(data).hexdigest())
            images[k] = prep.read_image(io.BytesIO(data), name=f"{path}:{name}")
    return images, np.array([p for p, _, _ in entries]), np.array([n for _, n, _ in entries], dtype=np.int64), np.array(digests)


@dataclass(frozen=True)
class PairList:
    """One LFW pair list: per pair the indices of its two images (into the :func:`load_lfw` set), whether they show the
    same person, and the pair's fold (0-based; View 1 lists are one fold)."""

    name: str
    first: np.ndarray
    second: np.ndarray
    same: np.ndarray
    fold: np.ndarray

    @property
    def n_folds(self) -> int:
        return int(self.fold.max()) + 1 if len(self.fold) else 0

    def __len__(self) -> int:
        return len(self.first)

    def folds(self, which) -> "PairList":
        """The pairs of the folds ``which`` (0-based)."""
        keep = np.isin(self.fold, list(which))
        return PairList(self.name, self.first[keep], self.second[keep], self.same[keep], self.fold[keep])

    def images(self) -> np.ndarray:
        """The images the pairs use, sorted, without repeats."""
        return np.unique(np.concatenate([self.first, self.second]))

    def local(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(images, first, second)``: :meth:`images`, and each pair's two images as positions in it, so that the images
        are embedded once and the pairs read from those embeddings."""
        used = self.images()
        return used, np.searchsorted(used, self.first), np.searchsorted(used, self.second)

    def split(self, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Per-pair ``values`` (distances, scores) of the matched pairs, then of the mismatched ones."""
        values = np.asarray(values)
        return values[self.same], values[~self.same]

    def people(self, data: LabeledSet) -> list[str]:
        """The people the pairs show, sorted."""
        return sorted(set(data.labels[self.images()].tolist()))


def load_pair_list(which: str, data: LabeledSet, data_dir: str | os.PathLike | None = None) -> PairList:
    """Pair list ``which`` ('dev-train', 'dev-test' or 'view2'; see :data:`PAIR_FILES`) resolved against ``data``."""
    if which not in PAIR_FILES:
        raise ValueError(f"`which` must be one of {', '.join(map(repr, PAIR_FILES))}; got {which!r}.")
    path = dataset_dir("lfw", data_dir) / PAIR_FILES[which]
    if not path.is_file():
        from metrickit.exceptions import DatasetNotFoundError

        raise DatasetNotFoundError(f"pair list {path} does not exist (LFW's {PAIR_FILES[which]}).")
    return parse_pair_list(path.read_text(), data, name=str(path), list_name=which)


def parse_pair_list(text: str, data: LabeledSet, *, name: str = "pair list", list_name: str = "pairs") -> PairList:
    """A pair list's text (header, then matched and mismatched lines per fold) resolved against ``data``'s images."""
    index = {(person, number): k for k, (person, number) in enumerate(zip(data.labels.tolist(), data.extra["number"].tolist()))}
    lines = text.splitlines()
    header = lines[0].split() if lines else []
    if not header or len(header) > 2 or not all(h.isdigit() for h in header):
        raise ValueError(f"{name}:1: the header must be '<pairs per class>' or '<folds> <pairs per class>'; got {lines[:1]!r}.")
    folds, per = (1, int(header[0])) if len(header) == 1 else (int(header[0]), int(header[1]))
    body = [line for line in lines[1:] if line.strip()]
    if len(body) != 2 * folds * per:
        raise ValueError(f"{name}: the header promises {folds} fold(s) of {per} matched + {per} mismatched pairs "
                         f"({2 * folds * per} lines); found {len(body)}.")
    first, second = np.empty(len(body), dtype=np.int64), np.empty(len(body), dtype=np.int64)
    same = np.tile(np.repeat([True, False], per), folds)
    for k, line in enumerate(body):
        fields = line.split()
        want = 3 if same[k] else 4
        if len(fields) != want or not all(fields[i].isdigit() for i in ((1, 2) if want == 3 else (1, 3))):
            kind = "matched 'name i j'" if same[k] else "mismatched 'name1 i name2 j'"
            raise ValueError(f"{name}:{k + 2}: expected a {kind} line; got {line!r}.")
        refs = [(fields[0], int(fields[1])), (fields[0], int(fields[2]))] if want == 3 else [(fields[0], int(fields[1])), (fields[2], int(fields[3]))]
        missing = [f"{p}_{i:04d}.jpg" for p, i in refs if (p, i) not in index]
        if missing:
            raise ValueError(f"{name}:{k + 2}: {', '.join(missing)} is not among the LFW images.")
        first[k], second[k] = index[refs[0]], index[refs[1]]
    return PairList(list_name, first, second, same, np.repeat(np.arange(folds), 2 * per))
