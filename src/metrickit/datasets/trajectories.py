"""On-line signatures as pen trajectories: SVC2004 text files (Task 2: 7 columns, Task 1: 4), CSV, and the Task 2
sample set in ``svc2004_online/``.

A trajectory is the pen's contact points in order, as float64 columns named by :data:`CHANNELS` (those the source
has): ``x``, ``y`` (tablet units), ``t`` (ms from the first point), ``stroke_start`` (1 where the pen touched down
after being lifted), and, where recorded, ``pressure``, ``azimuth`` and ``altitude``. The rules follow the data
(``svc2004_online/SOURCE.md``): a point is in contact when its pressure is above 0 (the button column also carries
barrel-button bits, values 2-5, so it does not say contact); a stroke starts at the first point, at a button-0 row
(SVC2004 writes one at each touch-down), after rows dropped for zero pressure, or after a time gap over 25 ms (the
tablet samples at 100 Hz; single 0-2 ms and 11-21 ms steps are clock jitter, and 13 steps run backwards by 8-9 ms,
so time is never used as a divisor). Files without pressure (Task 1, CSV without it) keep every row.

:func:`load_svc2004_online` returns the package's :class:`~metrickit.datasets.labeled.LabeledSet` with the
trajectories zero-padded into ``X`` (n, longest, channels), their ``lengths`` (its ``mask`` marks real points) and
``channels``, labelled 'user1'..'user30' with ``extra["forged"]`` and ``extra["sample"]``.
"""

from __future__ import annotations

import csv
import io
import os
import re
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np

from metrickit.datasets.labeled import LabeledSet, Preprocessing
from metrickit.datasets.paths import dataset_dir, open_archive

__all__ = ["CHANNELS", "TRAJECTORY_SUFFIXES", "Trajectory", "load_svc2004_online", "load_trajectory_files", "pad_sequences",
           "pad_trajectories", "parse_svc_text", "read_trajectory"]

CHANNELS = ("x", "y", "t", "stroke_start", "pressure", "azimuth", "altitude")
TRAJECTORY_SUFFIXES = (".txt", ".csv")
STROKE_GAP_MS = 25  # a pause longer than this (2.5 sampling periods at 100 Hz) starts a new stroke
_SVC_MEMBER = re.compile(r"^(?:.*/)?U(\d+)S(\d+)\.TXT$", re.IGNORECASE)
_ARCHIVE = "svc2004_task2_users1-30.zip"


@dataclass(frozen=True)
class Trajectory:
    """A pen trajectory: ``points`` (n_points, len(channels)) float64, contact points only, in time order."""

    points: np.ndarray
    channels: tuple[str, ...]
    name: str = ""

    def __len__(self) -> int:
        return len(self.points)

    def channel(self, name: str) -> np.ndarray:
        """One column by name (raises naming the ones there are)."""
        if name not in self.channels:
            raise KeyError(f"trajectory {self.name or ''} has no {name!r} channel (it has {', '.join(self.channels)}).")
        return self.points[:, self.channels.index(name)]


def _trajectory(x, y, t, button, optional: dict[str, np.ndarray], name: str) -> Trajectory:
    """Contact points (pressure > 0 where pressure exists) with ``t`` from 0 and stroke starts; see the module docstring."""
    keep = optional["pressure"] > 0 if "pressure" in optional else np.ones(len(x), dtype=bool)
    if not keep.any():
        raise ValueError(f"{name}: no point has pressure > 0, so the pen never touched the tablet.")
    dropped_before = np.concatenate([[False], ~keep[:-1]])  # a point right after zero-pressure rows starts a stroke
    gap = np.concatenate([[0], np.diff(t)]) > STROKE_GAP_MS
    start = (button == 0) | dropped_before | gap
    start[0] = True
    start = start[keep]
    start[0] = True
    t = t[keep]
    columns = {"x": x[keep], "y": y[keep], "t": t - t[0], "stroke_start": start.astype(np.float64),
               **{key: value[keep] for key, value in optional.items()}}
    channels = tuple(c for c in CHANNELS if c in columns)
    return Trajectory(np.column_stack([np.asarray(columns[c], dtype=np.float64) for c in channels]), channels, name)


def parse_svc_text(text: str, name: str) -> Trajectory:
    """An SVC2004 file's text: the point count, then one row per point of 7 integers (x y time button azimuth altitude
    pressure; Task 2) or 4 (x y time button; Task 1). Raises naming the file and the line of any fault."""
    lines = text.splitlines()
    while lines and not lines[-1].strip():
        lines.pop()
    if not lines:
        raise ValueError(f"{name}: the file is empty; an SVC2004 file starts with its number of points.")
    try:
        count = int(lines[0].strip())
    except ValueError:
        raise ValueError(f"{name}, line 1: expected the number of points, got {lines[0].strip()[:40]!r}.") from None
    rows = lines[1:]
    if count < 2 or count != len(rows):
        raise ValueError(f"{name}, line 1: the file says {count} points but holds {len(rows)} rows (at least 2 are needed).")
    width = len(rows[0].split())
    if width not in (4, 7):
        raise ValueError(f"{name}, line 2: expected 7 columns (Task 2) or 4 (Task 1), got {width}.")
    values = np.empty((count, width), dtype=np.float64)
    for number, row in enumerate(rows, start=2):
        fields = row.split()
        if len(fields) != width:
            raise ValueError(f"{name}, line {number}: expected {width} columns like line 2, got {len(fields)}.")
        try:
            values[number - 2] = [int(field) for field in fields]
        except ValueError:
            raise ValueError(f"{name}, line {number}: expected integers, got {row.strip()[:60]!r}.") from None
    optional = {"azimuth": values[:, 4], "altitude": values[:, 5], "pressure": values[:, 6]} if width == 7 else {}
    return _trajectory(values[:, 0], values[:, 1], values[:, 2], values[:, 3], optional, name)


def _read_csv(path: Path) -> Trajectory:
    """A CSV with a header naming at least ``x,y,t`` and optionally ``pressure,azimuth,altitude,button``."""
    with open(path, newline="") as handle:
        reader = csv.reader(handle)
        header = [column.strip().lower() for column in next(reader, [])]
        missing = [c for c in ("x", "y", "t") if c not in header]
        if missing:
            raise ValueError(f"{path}, line 1: a trajectory CSV needs columns x,y,t (optional pressure,azimuth,altitude,button); "
                             f"missing {','.join(missing)}.")
        unknown = sorted(set(header) - {"x", "y", "t", "pressure", "azimuth", "altitude", "button"})
        if unknown:
            raise ValueError(f"{path}, line 1: unknown column(s) {','.join(unknown)}; expected x,y,t[,pressure,azimuth,altitude,button].")
        rows = []
        for number, row in enumerate(reader, start=2):
            if not row or not any(field.strip() for field in row):
                continue
            if len(row) != len(header):
                raise ValueError(f"{path}, line {number}: expected {len(header)} fields like the header, got {len(row)}.")
            try:
                rows.append([float(field) for field in row])
            except ValueError:
                raise ValueError(f"{path}, line {number}: expected numbers, got {','.join(row)[:60]!r}.") from None
    values = np.asarray(rows, dtype=np.float64).reshape(-1, len(header))
    if len(values) < 2:
        raise ValueError(f"{path}: a trajectory needs at least 2 points; got {len(values)}.")
    if not np.isfinite(values).all():
        raise ValueError(f"{path}: holds NaN or infinite values.")
    column = {name: values[:, k] for k, name in enumerate(header)}
    button = column.get("button", np.ones(len(values)))
    optional = {key: column[key] for key in ("pressure", "azimuth", "altitude") if key in column}
    return _trajectory(column["x"], column["y"], column["t"], button, optional, str(path))


def read_trajectory(path: str | os.PathLike) -> Trajectory:
    """A trajectory file: SVC2004 text (``.TXT``, 7 or 4 columns) or CSV (``.csv``)."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"trajectory file {path} does not exist.")
    suffix = path.suffix.lower()
    if suffix == ".csv":
        return _read_csv(path)
    if suffix != ".txt":
        raise ValueError(f"trajectory file {path} must be SVC2004 text (.TXT) or .csv; got {path.suffix or 'no suffix'!r}.")
    try:
        text = path.read_text(encoding="ascii")
    except UnicodeDecodeError as error:
        raise ValueError(f"{path}: not an ASCII SVC2004 file ({error.reason} at byte {error.start}).") from None
    return parse_svc_text(text, str(path))


def pad_trajectories(trajectories: Sequence[Trajectory]) -> tuple[np.ndarray, np.ndarray, tuple[str, ...]]:
    """``X`` (n, longest, channels) float32 zero-padded, ``lengths`` (n,) and the shared channel names; trajectories
    with different channels (a Task 1 file among Task 2 files) are refused."""
    if not trajectories:
        raise ValueError("no trajectories to pad.")
    channels = trajectories[0].channels
    for trajectory in trajectories:
        if trajectory.channels != channels:
            raise ValueError(f"{trajectory.name} has channels {', '.join(trajectory.channels)} but {trajectories[0].name} has "
                             f"{', '.join(channels)}: mix Task 1 and Task 2 files (or CSVs with other columns) in separate sets.")
    X, lengths = pad_sequences([t.points for t in trajectories], np.float32)
    return X, lengths, channels


def pad_sequences(sequences: Sequence[np.ndarray], dtype=np.float64) -> tuple[np.ndarray, np.ndarray]:
    """(n, longest, width) zero-padded copies of (length, width) sequences, in ``dtype``, and their lengths (n,)."""
    lengths = np.array([len(s) for s in sequences], dtype=np.int64)
    out = np.zeros((len(sequences), int(lengths.max()), np.shape(sequences[0])[1]), dtype=dtype)
    for row, sequence in enumerate(sequences):  # one copy per sequence into the padded block
        out[row, : len(sequence)] = sequence
    return out, lengths


def trajectory_set(trajectories: Sequence[Trajectory], labels: np.ndarray, ids: list[str], extra: dict[str, np.ndarray],
                   name: str) -> LabeledSet:
    """Trajectories as the package's labelled set (padded ``X``, ``lengths``, ``channels``)."""
    X, lengths, channels = pad_trajectories(trajectories)
    preprocessing = Preprocessing("trajectory", (len(channels),))
    return LabeledSet(X, np.asarray(labels), preprocessing, ids, extra, name, prepared=False, lengths=lengths, channels=channels)


def load_trajectory_files(files: Sequence[str | os.PathLike], labels: Sequence | None = None) -> LabeledSet:
    """Trajectory files (.TXT or .csv) as a labelled set; labels default to each file's folder name."""
    files = [Path(f) for f in files]
    labels = np.array([f.parent.name for f in files] if labels is None else list(labels))
    return trajectory_set([read_trajectory(f) for f in files], labels, [str(f) for f in files], {}, "trajectories")


def load_svc2004_online(data_dir: str | os.PathLike | None = None) -> LabeledSet:
    """SVC2004 Task 2 users 1-30 from ``svc2004_online/`` (40 trajectories a user: S1-S20 genuine, S21-S40 skilled
    forgeries), in user then sample order."""
    path = dataset_dir("svc2004_online", data_dir) / _ARCHIVE
    with open_archive(path, "the SVC2004 Task 2 sample files SVC2004/Task2/U<u>S<s>.TXT") as archive:
        entries = sorted((int(m.group(1)), int(m.group(2)), name) for name in archive.namelist() if (m := _SVC_MEMBER.match(name)))
        if not entries:
            raise ValueError(f"{path} holds no files named U<u>S<s>.TXT.")
        trajectories = []
        for _, _, member in entries:
            try:
                text = io.TextIOWrapper(archive.open(member), encoding="ascii").read()
            except (zipfile.BadZipFile, OSError, UnicodeDecodeError) as error:
                raise ValueError(f"{path}: cannot read {member}: {error}") from None
            trajectories.append(parse_svc_text(text, f"{path}:{member}"))
    samples = np.array([s for _, s, _ in entries])
    if samples.max() > 40:
        raise ValueError(f"{path}: sample numbers run to {samples.max()}; SVC2004 has S1-S40 per user.")
    return trajectory_set(trajectories, np.array([f"user{u}" for u, *_ in entries]), [name for *_, name in entries],
                          {"forged": samples > 20, "sample": samples}, "svc2004-online")
