"""Omniglot one-shot runs in the official layout (Lake et al. 2015): ``runNN/training/classNN.png``,
``runNN/test/itemNN.png`` and ``runNN/class_labels.txt`` (lines ``runNN/test/itemMM.png runNN/training/classKK.png``).

Each test item is classified as the training image nearest to it; a run's error is the fraction of
items whose nearest training image is not the one ``class_labels.txt`` names. ``make_runs`` builds
within-alphabet 20-way runs of this layout from ``images_evaluation.zip``.
"""

from __future__ import annotations

import os
import re
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

from metrickit.datasets.omniglot import read_drawing
from metrickit.exceptions import DatasetNotFoundError

__all__ = ["evaluate_runs", "make_runs"]


def evaluate_runs(runs_dir: str | os.PathLike, model_path: str | os.PathLike | None = None) -> dict[str, Any]:
    """Per-run and mean error of nearest-neighbour one-shot classification; ``model_path=None`` uses pixels."""
    from metrickit.models.artifact import load_deep_model

    root = Path(runs_dir)
    runs = sorted(p for p in root.glob("run*") if (p / "class_labels.txt").is_file())
    if not runs:
        raise DatasetNotFoundError(f"{root} holds no one-shot runs (expected runNN/class_labels.txt with runNN/training and runNN/test).")
    model = load_deep_model(model_path) if model_path is not None else None
    errors = []
    for run in runs:
        pairs = [line.split() for line in (run / "class_labels.txt").read_text().splitlines() if line.strip()]
        if not pairs or any(len(p) != 2 for p in pairs):
            raise ValueError(f"{run / 'class_labels.txt'} must hold lines '<test item> <training class>'.")
        tests = [t for t, _ in pairs]
        trainings = sorted({c for _, c in pairs} | {str(p.relative_to(root)) for p in (run / "training").glob("*.png")})
        images = np.stack([read_drawing(root / name) for name in tests + trainings])[:, None]  # (n, 1, 28, 28)
        if model is None:
            Z = images.reshape(len(images), -1).astype(np.float64) / 255
        else:
            Z = model.embed(images).astype(np.float64)
        queries, gallery = Z[: len(tests)], Z[len(tests) :]
        d2 = ((queries[:, None, :] - gallery[None, :, :]) ** 2).sum(-1)
        predicted = [trainings[i] for i in d2.argmin(1)]
        errors.append(float(np.mean([p != answer for p, (_, answer) in zip(predicted, pairs)])))
    return {"model": str(model_path) if model_path else "euclidean (pixels)", "runs": [r.name for r in runs],
            "errors": errors, "mean_error": float(np.mean(errors))}


_ENTRY = re.compile(r"^(?:[^/]+/)?([^/]+)/(character\d+)/(\d+)_(\d+)\.png$")


def make_runs(archive: str | os.PathLike, out_dir: str | os.PathLike, *, n_runs: int = 20, n_way: int = 20, seed: int = 0) -> Path:
    """Write ``n_runs`` within-alphabet ``n_way``-way one-shot runs drawn from an Omniglot archive into ``out_dir``.

    Each run picks an alphabet with at least ``n_way`` characters, ``n_way`` of its characters, and two
    different drawers: one drawing per character for training, one for test (in shuffled order).
    """
    archive, out = Path(archive), Path(out_dir)
    if not archive.is_file():
        raise DatasetNotFoundError(f"Omniglot archive {archive} does not exist.")
    if out.exists() and any(out.iterdir()):
        raise FileExistsError(f"{out} already exists and is not empty; choose another folder.")
    rng = np.random.default_rng(seed)
    with zipfile.ZipFile(archive) as zf:
        drawings: dict[str, dict[str, list[str]]] = {}
        for name in zf.namelist():
            match = _ENTRY.match(name)
            if match:
                drawings.setdefault(match.group(1), {}).setdefault(match.group(2), []).append(name)
        alphabets = sorted(a for a, chars in drawings.items() if len(chars) >= n_way)
        if not alphabets:
            raise ValueError(f"{archive} has no alphabet with {n_way} characters.")
        for r in range(1, n_runs + 1):
            alphabet = alphabets[rng.integers(len(alphabets))]
            characters = sorted(drawings[alphabet])
            chosen = rng.choice(len(characters), n_way, replace=False)
            run = out / f"run{r:02d}"
            (run / "training").mkdir(parents=True)
            (run / "test").mkdir()
            order = rng.permutation(n_way)
            lines = []
            for k, c in enumerate(chosen):
                files = sorted(drawings[alphabet][characters[c]])
                train_file, test_file = rng.choice(files, 2, replace=False)
                (run / "training" / f"class{k + 1:02d}.png").write_bytes(zf.read(train_file))
                (run / "test" / f"item{order[k] + 1:02d}.png").write_bytes(zf.read(test_file))
                lines.append((f"run{r:02d}/test/item{order[k] + 1:02d}.png", f"run{r:02d}/training/class{k + 1:02d}.png"))
            (run / "class_labels.txt").write_text("".join(f"{t} {c}\n" for t, c in sorted(lines)))
    return out
