"""Omniglot (Lake et al. 2015) for few-shot learning, read from the archives as they are.

Each archive (``images_background.zip``, ``images_evaluation.zip``) is decoded once into a user
cache keyed by its sha256 (``$METRICKIT_CACHE``, else ``$XDG_CACHE_HOME/metrickit``, else
``~/.cache/metrickit``), never into the repository: 28 x 28 grayscale images, strokes bright on a
dark background (the 105 x 105 drawings inverted and LANCZOS-resized by :data:`PREPROCESSING`, which every
model trained on them stores, so it reads raw drawings the same way). Classes follow the
Vinyals split files: ``Alphabet/characterNN/rotDDD``, each character in each of four rotations
(counter-clockwise, as PIL rotates) being its own class of 20 drawings. The split ``background`` is Lake et
al.'s training set: every character of ``images_background.zip`` (964), in the same four rotations.
"""

from __future__ import annotations

import os
import re
import zipfile
from pathlib import Path

import numpy as np

from metrickit._io import file_sha256
from metrickit.datasets.labeled import LabeledSet, Preprocessing
from metrickit.datasets.paths import cache_dir, dataset_dir
from metrickit.exceptions import DatasetNotFoundError

__all__ = ["ARCHIVES", "PREPROCESSING", "ROTATIONS", "SPLITS", "archive_characters", "cache_dir", "characters_of", "decode_archive",
           "hold_out_alphabets", "load_omniglot", "load_omniglot_classes", "read_drawing", "split_classes"]

ARCHIVES = ("images_background.zip", "images_evaluation.zip")
SPLITS = ("train", "val", "test", "trainval", "background")
ROTATIONS = ("rot000", "rot090", "rot180", "rot270")
SIZE = 28
PREPROCESSING = Preprocessing("image", (1, SIZE, SIZE), scale=1 / 255, invert=True, resize=True, resample="lanczos")
_DECODE_VERSION = 2  # in the cache's file names: 2 decodes through PREPROCESSING (invert, then resize)
_ENTRY = re.compile(r"^(?:[^/]+/)?([^/]+)/(character\d+)/(\d+)_(\d+)\.png$")  # [top/]Alphabet/characterNN/ID_drawer.png


def decode_archive(path: str | os.PathLike, cache: str | os.PathLike | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(images, characters, drawers)`` of one Omniglot archive, from the cache when it holds this archive's sha256.

    ``images`` is uint8 (n, 28, 28); ``characters`` holds 'Alphabet/characterNN'; ``drawers`` 1..20.
    """
    from metrickit._io import atomic_path

    path = Path(path)
    if not path.is_file():
        raise DatasetNotFoundError(f"Omniglot archive {path} does not exist (expected the official {path.name}).")
    target = Path(cache) if cache is not None else cache_dir()
    cached = target / f"omniglot-{path.stem}-{file_sha256(path)[:16]}-{SIZE}-v{_DECODE_VERSION}.npz"
    if cached.is_file():
        with np.load(cached, allow_pickle=False) as data:
            return data["images"], data["characters"], data["drawers"]
    images, characters, drawers = _decode(path)
    with atomic_path(cached, overwrite=True) as tmp:
        with open(tmp, "wb") as fh:
            np.savez(fh, images=images, characters=characters, drawers=drawers)
    return images, characters, drawers


def read_drawing(source) -> np.ndarray:
    """One drawing (a path or an open file) as uint8 (28, 28): grayscale, inverted so strokes are bright, LANCZOS-resized."""
    return PREPROCESSING.read_image(source)[0]


def _decode(path: Path) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as error:
        raise ValueError(f"{path} is not a readable zip archive ({error}); expected Omniglot's {path.name} of PNG drawings.") from None
    with archive:
        entries = sorted((m, _ENTRY.match(m)) for m in archive.namelist() if _ENTRY.match(m))
        if not entries:
            raise ValueError(f"{path} holds no drawings named <Alphabet>/characterNN/<id>_<drawer>.png; is it an Omniglot archive?")
        images = np.empty((len(entries), SIZE, SIZE), dtype=np.uint8)
        for i, (name, _) in enumerate(entries):
            try:
                with archive.open(name) as fh:
                    images[i] = read_drawing(fh)
            except (ValueError, zipfile.BadZipFile) as error:
                raise ValueError(f"{path}: cannot read {name}: {error}") from None
    characters = np.array([f"{m.group(1)}/{m.group(2)}" for _, m in entries])
    drawers = np.array([int(m.group(4)) for _, m in entries], dtype=np.int64)
    return images, characters, drawers


def archive_characters(path: str | os.PathLike) -> list[str]:
    """The characters ('Alphabet/characterNN') of one Omniglot archive, sorted, read from its file names only."""
    path = Path(path)
    if not path.is_file():
        raise DatasetNotFoundError(f"Omniglot archive {path} does not exist (expected the official {path.name}).")
    try:
        with zipfile.ZipFile(path) as archive:
            names = archive.namelist()
    except (zipfile.BadZipFile, OSError) as error:
        raise ValueError(f"{path} is not a readable zip archive ({error}); expected Omniglot's {path.name} of PNG drawings.") from None
    return sorted({f"{m.group(1)}/{m.group(2)}" for m in map(_ENTRY.match, names) if m})


def characters_of(classes) -> list[str]:
    """The characters ('Alphabet/characterNN') behind class names ('Alphabet/characterNN/rotDDD'), sorted and unique."""
    return sorted({str(name).rsplit("/", 1)[0] if str(name).rsplit("/", 1)[-1].startswith("rot") else str(name) for name in classes})


def split_classes(split: str, data_dir: str | os.PathLike | None = None) -> list[str]:
    """The class names ('Alphabet/characterNN/rotDDD') of a split: a Vinyals split file's lines, or for
    'background' every character of ``images_background.zip`` in each of the four rotations."""
    if split not in SPLITS:
        raise ValueError(f"`split` must be one of {', '.join(map(repr, SPLITS))}; got {split!r}.")
    folder = dataset_dir("omniglot", data_dir)
    if split == "background":
        return [f"{character}/{rotation}" for character in archive_characters(folder / ARCHIVES[0]) for rotation in ROTATIONS]
    split_file = folder / "splits" / "vinyals" / f"{split}.txt"
    if not split_file.is_file():
        raise DatasetNotFoundError(f"Omniglot split file {split_file} does not exist (expected the Vinyals splits under splits/vinyals/).")
    return [line.strip() for line in split_file.read_text().splitlines() if line.strip()]


def hold_out_alphabets(classes: list[str], n_alphabets: int, seed: int) -> tuple[list[str], list[str]]:
    """``(fit, held_out)``: the classes split by alphabet, ``n_alphabets`` seeded alphabets held out whole."""
    alphabets = sorted({name.split("/", 1)[0] for name in classes})
    if not 1 <= n_alphabets < len(alphabets):
        raise ValueError(f"`n_alphabets` ({n_alphabets}) must be at least 1 and below the number of alphabets ({len(alphabets)}).")
    held = {alphabets[i] for i in np.random.default_rng(seed).choice(len(alphabets), n_alphabets, replace=False)}
    return [c for c in classes if c.split("/", 1)[0] not in held], [c for c in classes if c.split("/", 1)[0] in held]


def load_omniglot(split: str = "train", *, data_dir: str | os.PathLike | None = None, cache: str | os.PathLike | None = None) -> LabeledSet:
    """The classes of a split ('train', 'val', 'test', 'trainval' from Vinyals' files; 'background' for Lake's
    training set), 20 drawings each, as network inputs in [0, 1].

    Labels are the class names ('Alphabet/characterNN/rotDDD'); ids name each drawing.
    """
    classes = split_classes(split, data_dir)
    source = ARCHIVES[0] if split == "background" else str(dataset_dir("omniglot", data_dir) / "splits" / "vinyals" / f"{split}.txt")
    return load_omniglot_classes(classes, data_dir=data_dir, cache=cache, source=source)


def load_omniglot_classes(
    classes: list[str], *, data_dir: str | os.PathLike | None = None, cache: str | os.PathLike | None = None, source: str = "`classes`"
) -> LabeledSet:
    """The drawings of the named classes ('Alphabet/characterNN/rotDDD'), in that class order (see :func:`load_omniglot`)."""
    folder = dataset_dir("omniglot", data_dir)
    decoded = [decode_archive(folder / name, cache) for name in ARCHIVES]
    images = np.concatenate([d[0] for d in decoded])
    characters = np.concatenate([d[1] for d in decoded])
    drawers = np.concatenate([d[2] for d in decoded])
    order = np.argsort(characters, kind="stable")
    starts = {c: (lo, hi) for c, lo, hi in _runs(characters[order])}
    picked, labels, ids = [], [], []
    for name in classes:
        character, _, rotation = name.rpartition("/")
        if character not in starts or rotation not in ROTATIONS:
            raise ValueError(f"{source}: class {name!r} is not an Omniglot character with a rotation rot000/rot090/rot180/rot270.")
        rows = order[starts[character][0] : starts[character][1]]
        picked.append(np.rot90(images[rows], k=int(rotation[3:]) // 90, axes=(1, 2)))
        labels += [name] * len(rows)
        ids += [f"{name}/{d:02d}" for d in drawers[rows]]
    raw = np.concatenate(picked)[:, None]  # (n, 1, 28, 28)
    return LabeledSet(PREPROCESSING.apply(raw), np.array(labels), PREPROCESSING, ids)


def _runs(sorted_values: np.ndarray):
    """(value, start, stop) of each run of equal values in a sorted array."""
    if len(sorted_values) == 0:
        return
    edges = np.flatnonzero(sorted_values[1:] != sorted_values[:-1]) + 1
    bounds = np.concatenate([[0], edges, [len(sorted_values)]])
    for lo, hi in zip(bounds[:-1], bounds[1:]):
        yield sorted_values[lo], int(lo), int(hi)
