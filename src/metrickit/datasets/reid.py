"""Person re-identification data in the Market-1501 layout, read from the archive as it is.

File names carry the labels: ``PPPP_cCsS_FFFFFF_BB.jpg`` is person ``PPPP`` seen by camera ``C`` in video
sequence ``S`` at frame ``FFFFFF`` (bounding box ``BB``). In the full dataset person ``-1`` marks junk boxes, which
the official evaluation ignores: the loader leaves them out (as torchreid does); ``0000`` distractors stay, as person 0,
and count as non-matches.
Images are RGB, resized to 64 x 128 (width x height; bilinear), the Market-1501 crop size.
"""

from __future__ import annotations

import io
import os
import re
from pathlib import Path

import numpy as np

from metrickit.datasets.labeled import LabeledSet, Preprocessing
from metrickit.datasets.paths import dataset_dir, open_archive

__all__ = ["MARKET_PREPROCESSING", "load_market1501_subset", "parse_market1501_name", "reid_queries"]

MARKET_PREPROCESSING = Preprocessing("image", (3, 128, 64), scale=1 / 255, resize=True)
_NAME = re.compile(r"^(-1|\d{4})_c(\d)s(\d)_(\d{6})_(\d{2})\.jpg$")


def parse_market1501_name(name: str) -> tuple[int, int, int, int]:
    """``(person, camera, sequence, frame)`` of a Market-1501 file name; raises naming it if it is not one."""
    match = _NAME.match(Path(name).name)
    if not match:
        raise ValueError(f"{name} is not a Market-1501 file name (PPPP_cCsS_FFFFFF_BB.jpg).")
    return int(match.group(1)), int(match.group(2)), int(match.group(3)), int(match.group(4))


def reid_queries(data: LabeledSet) -> np.ndarray:
    """Indices of the queries: per (person, camera) group, the image with the lowest frame number (ties: sequence, name)."""
    persons, cameras = data.labels, data.extra["camera"]
    order = np.lexsort((np.array(data.ids), data.extra["sequence"], data.extra["frame"], cameras, persons))
    group = persons[order] * 10 + cameras[order]
    first = np.ones(len(order), dtype=bool)
    first[1:] = group[1:] != group[:-1]
    return np.sort(order[first])


def load_market1501_subset(data_dir: str | os.PathLike | None = None) -> LabeledSet:
    """The shared Market-1501 subset (``market1501_subset/market1501_subset_100ids.zip``: 100 persons, 854 images)."""
    path = dataset_dir("market1501_subset", data_dir) / "market1501_subset_100ids.zip"
    with open_archive(path, "the Market-1501 subset of JPEG crops") as archive:
        names = sorted(n for n in archive.namelist() if n.lower().endswith(".jpg") and not Path(n).name.startswith("-1_"))
        if not names:
            raise ValueError(f"{path} holds no .jpg images; expected Market-1501 crops named PPPP_cCsS_FFFFFF_BB.jpg.")
        labels = np.array([parse_market1501_name(n) for n in names], dtype=np.int64)
        images = np.empty((len(names), *MARKET_PREPROCESSING.shape), dtype=np.uint8)
        for k, name in enumerate(names):
            images[k] = MARKET_PREPROCESSING.read_image(io.BytesIO(archive.read(name)), name=f"{path}:{name}")
    extra = {"camera": labels[:, 1], "sequence": labels[:, 2], "frame": labels[:, 3]}
    return LabeledSet(images, labels[:, 0], MARKET_PREPROCESSING, [Path(n).name for n in names], extra, "market1501_subset", prepared=False)
