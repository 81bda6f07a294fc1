"""Verification datasets read from their archives as they are: AT&T/ORL faces and SVC2004 signatures.

Each loader returns a :class:`~metrickit.datasets.labeled.LabeledSet` of decoded images (not yet prepared: their
standardisation is fitted on each training part) labelled by identity, with the documented :class:`Preprocessing`
(which a trained model stores, so new image files are prepared the same way) and, per image, ``extra["forged"]``
(skilled forgeries) and ``extra["sample"]`` (its number within its identity).

- ORL (``orl_faces/att_faces_s1-s30.zip``): 30 subjects x 10 images, 92 x 112 (width x height). The
  central 92 x 92 square (rows 10-101: forehead to chin, little hair or neck) is cut out and resized to
  48 x 48 (bilinear).
- SVC2004 (``svc2004_signatures/svc2004_users1-30.zip``): 30 users x 20 genuine (S1-S20; S1-S10 from
  session 1) + 20 skilled forgeries (S21-S40). Pen strokes are inverted to bright on black, the image is
  padded with black to a 2:1 width:height ratio (centred) and resized to 96 x 48 (bilinear): the aspect
  ratio is kept.
"""

from __future__ import annotations

import io
import os
import re
import zipfile
from pathlib import Path

import numpy as np

from metrickit.datasets.labeled import LabeledSet, Preprocessing
from metrickit.datasets.paths import dataset_dir, open_archive

__all__ = ["ORL_PREPROCESSING", "SVC_PREPROCESSING", "VERIFICATION_DATASETS", "load_identities", "load_orl", "load_svc2004", "training_classes"]

ORL_PREPROCESSING = Preprocessing("image", (1, 48, 48), scale=1 / 255, crop=(10, 0, 92, 92), resize=True)
SVC_PREPROCESSING = Preprocessing("image", (1, 48, 96), scale=1 / 255, invert=True, pad_to_aspect=True, resize=True)


def training_classes(data: LabeledSet) -> np.ndarray:
    """The classes verification trains on: the identity, with each identity's skilled forgeries a class of their own
    ('<id>/forged'), so that genuine-vs-forgery pairs are negatives."""
    identities = data.labels.astype(str)
    forged = data.extra.get("forged", np.zeros(len(identities), dtype=bool))
    return np.where(forged, np.char.add(identities, "/forged"), identities)


def _decode_members(archive: zipfile.ZipFile, path: Path, members: list[str], preprocessing: Preprocessing) -> np.ndarray:
    images = np.empty((len(members), *preprocessing.shape), dtype=np.uint8)
    for k, member in enumerate(members):
        try:
            data = archive.read(member)
        except (zipfile.BadZipFile, OSError, KeyError) as error:
            raise ValueError(f"{path}: cannot read {member}: {error}") from None
        images[k] = preprocessing.read_image(io.BytesIO(data), name=f"{path}:{member}")
    return images


_ORL = re.compile(r"^(?:[^/]+/)?s(\d+)/(\d+)\.pgm$")
_SVC = re.compile(r"^(?:[^/]+/)?user(\d+)/(genuine|forged)/U(\d+)S(\d+)\.png$")


def load_orl(data_dir: str | os.PathLike | None = None) -> LabeledSet:
    """ORL faces s1-s30 (identities 's1'..'s30', samples 1..10), decoded by :data:`ORL_PREPROCESSING`."""
    path = dataset_dir("orl_faces", data_dir) / "att_faces_s1-s30.zip"
    expected = "the AT&T/ORL archive with att_faces/sN/M.pgm"
    with open_archive(path, expected) as archive:
        entries = sorted(((int(m.group(1)), int(m.group(2)), name) for name in archive.namelist() if (m := _ORL.match(name))))
        if not entries:
            raise ValueError(f"{path} holds no images named sN/M.pgm; expected {expected}.")
        images = _decode_members(archive, path, [name for *_, name in entries], ORL_PREPROCESSING)
    subjects = np.array([f"s{s}" for s, *_ in entries])
    extra = {"forged": np.zeros(len(entries), dtype=bool), "sample": np.array([m for _, m, _ in entries])}
    return LabeledSet(images, subjects, ORL_PREPROCESSING, [name for *_, name in entries], extra, "orl", prepared=False)


def load_svc2004(data_dir: str | os.PathLike | None = None) -> LabeledSet:
    """SVC2004 users 1-30 (identities 'user1'..'user30'; samples 1..40, forged from 21), decoded by :data:`SVC_PREPROCESSING`."""
    path = dataset_dir("svc2004_signatures", data_dir) / "svc2004_users1-30.zip"
    expected = "the SVC2004 archive with SVC2004/user<u>/{genuine,forged}/U<u>S<s>.png"
    with open_archive(path, expected) as archive:
        entries = []
        for name in archive.namelist():
            match = _SVC.match(name)
            if not match:
                continue
            user, kind, named_user, sample = int(match.group(1)), match.group(2), int(match.group(3)), int(match.group(4))
            if named_user != user or (kind == "forged") != (sample > 20):
                raise ValueError(f"{path}: {name} breaks the SVC2004 layout (user{user} holds U{user}S1-S20 genuine, S21-S40 forged).")
            entries.append((user, sample, name))
        if not entries:
            raise ValueError(f"{path} holds no signatures; expected {expected}.")
        entries.sort()
        images = _decode_members(archive, path, [name for *_, name in entries], SVC_PREPROCESSING)
    samples = np.array([s for _, s, _ in entries])
    return LabeledSet(images, np.array([f"user{u}" for u, *_ in entries]), SVC_PREPROCESSING, [name for *_, name in entries],
                      {"forged": samples > 20, "sample": samples}, "svc2004", prepared=False)


VERIFICATION_DATASETS = {"orl": load_orl, "svc2004": load_svc2004}


def load_identities(name: str, data_dir: str | os.PathLike | None = None) -> LabeledSet:
    """'orl' or 'svc2004' from the data directory."""
    if name not in VERIFICATION_DATASETS:
        raise ValueError(f"`dataset` must be one of {', '.join(map(repr, VERIFICATION_DATASETS))}; got {name!r}.")
    return VERIFICATION_DATASETS[name](data_dir)
