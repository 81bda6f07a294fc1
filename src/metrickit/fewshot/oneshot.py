"""Omniglot one-shot runs in the official layout (Lake et al. 2015): ``runNN/training/classNN.png``,
``runNN/test/itemNN.png`` and ``runNN/class_labels.txt`` (lines ``runNN/test/itemMM.png runNN/training/classKK.png``).

Each test item is classified as the training image nearest to it; a run's error is the fraction of
items whose nearest training image is not the one ``class_labels.txt`` names. ``make_runs`` builds
within-alphabet 20-way runs of this layout from ``images_evaluation.zip``, only from characters that the
models it is given never trained or validated on, and writes ``manifest.json``: the characters and drawings
of every run. ``score_runs`` refuses a model whose training or validation characters are in the runs
(from the manifest; for runs without one, such as Lake's official runs, any model that saw a character of
an evaluation alphabet).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
import zipfile
from pathlib import Path
from typing import Any, Iterable

import numpy as np

from metrickit._io import file_sha256
from metrickit.datasets.omniglot import read_drawing
from metrickit.exceptions import DatasetNotFoundError

__all__ = ["EVALUATION_ALPHABETS", "MANIFEST", "score_runs", "make_runs", "make_runs_for_models", "model_characters"]

MANIFEST = "manifest.json"
MANIFEST_KIND = "omniglot-oneshot-runs"
# The 20 alphabets of images_evaluation.zip (Lake et al. 2015), whose characters every one-shot run draws from.
EVALUATION_ALPHABETS = (
    "Angelic", "Atemayar_Qelisayer", "Atlantean", "Aurek-Besh", "Avesta", "Ge_ez", "Glagolitic", "Gurmukhi", "Kannada", "Keble",
    "Malayalam", "Manipuri", "Mongolian", "Old_Church_Slavonic_(Cyrillic)", "Oriya", "Syriac_(Serto)", "Sylheti", "Tengwar", "Tibetan",
    "ULOG",
)


def model_characters(info: dict[str, Any], data_dir: str | os.PathLike | None = None) -> set[str]:
    """The Omniglot characters ('Alphabet/characterNN') a model trained or validated on, from its file's ``info``.

    Few-shot model files list them; older few-shot files name only their Vinyals splits, which are read from the
    split files. A model not trained by ``fewshot train`` saw no Omniglot character.
    """
    from metrickit.datasets.omniglot import characters_of, split_classes

    if "train_characters" in info:
        return set(info["train_characters"]) | set(info.get("val_characters", []))
    if "fewshot" not in info:
        return set()
    names = [info.get("split") or "train", info.get("val_split")]
    return {c for name in names if name for c in characters_of(split_classes(name, data_dir))}


def score_runs(
    runs_dir: str | os.PathLike, model_path: str | os.PathLike | None = None, *, data_dir: str | os.PathLike | None = None
) -> dict[str, Any]:
    """Per-run and mean error of nearest-neighbour one-shot classification; ``model_path=None`` uses pixels (/255).

    Refuses (``ValueError``) a model whose training or validation characters overlap the runs' characters.
    """
    from metrickit.datasets.labeled import Preprocessing
    from metrickit.models.base import EuclideanModel, load_model
    from metrickit.runs import tagged

    root = Path(runs_dir)
    runs = sorted(p for p in root.glob("run*") if (p / "class_labels.txt").is_file())
    if not runs:
        raise DatasetNotFoundError(f"{root} holds no one-shot runs (expected runNN/class_labels.txt with runNN/training and runNN/test).")
    model = load_model(model_path) if model_path is not None else EuclideanModel(Preprocessing("image", (1, 28, 28), scale=1 / 255))
    manifest = _read_manifest(root)
    _refuse_overlap(model_characters(model.info, data_dir), manifest, root, model_path)
    errors = []
    for run in runs:
        pairs = [line.split() for line in (run / "class_labels.txt").read_text().splitlines() if line.strip()]
        if not pairs or any(len(p) != 2 for p in pairs):
            raise ValueError(f"{run / 'class_labels.txt'} must hold lines '<test item> <training class>'.")
        tests = [t for t, _ in pairs]
        trainings = sorted({c for _, c in pairs} | {str(p.relative_to(root)) for p in (run / "training").glob("*.png")})
        images = np.stack([read_drawing(root / name) for name in tests + trainings])[:, None]  # (n, 1, 28, 28)
        Z = model.embed(images).astype(np.float64)
        queries, gallery = Z[: len(tests)], Z[len(tests) :]
        d2 = ((queries[:, None, :] - gallery[None, :, :]) ** 2).sum(-1)
        predicted = [trainings[i] for i in d2.argmin(1)]
        errors.append(float(np.mean([p != answer for p, (_, answer) in zip(predicted, pairs)])))
    return tagged("oneshot-eval", {"model": str(model_path) if model_path else "euclidean (pixels)", "runs": [r.name for r in runs],
                                   "alphabets": sorted({r["alphabet"] for r in manifest["runs"]}) if manifest else None,
                                   "errors": errors, "mean_error": float(np.mean(errors))})


def _read_manifest(root: Path) -> dict[str, Any] | None:
    path = root / MANIFEST
    if not path.is_file():
        return None
    try:
        manifest = json.loads(path.read_text())
        if manifest.get("kind") != MANIFEST_KIND:
            raise KeyError("kind")
        for run in manifest["runs"]:
            run["characters"], run["alphabet"]  # noqa: B018  every run names its characters and alphabet
    except (json.JSONDecodeError, KeyError, TypeError) as error:
        raise ValueError(f"{path} is not a one-shot run manifest from `metrickit fewshot make-runs` (bad entry {error}).") from None
    return manifest


def _refuse_overlap(seen: set[str], manifest: dict[str, Any] | None, root: Path, model_path) -> None:
    """Raise unless the model's characters and the runs' characters are disjoint."""
    if not seen:
        return
    if manifest is None:
        evaluation = sorted(c for c in seen if c.split("/", 1)[0] in EVALUATION_ALPHABETS)
        if evaluation:
            raise ValueError(f"{root} has no {MANIFEST}, so its characters are unknown, and {model_path} trained or validated on "
                             f"{len(evaluation)} characters of evaluation alphabets (e.g. {evaluation[0]}): score it on runs built by "
                             f"`metrickit fewshot make-runs --model {model_path}`, or train it on images_background (--split background).")
        return
    overlap = {run["run"]: sorted(seen.intersection(run["characters"])) for run in manifest["runs"]}
    overlap = {name: chars for name, chars in overlap.items() if chars}
    if overlap:
        first = next(iter(overlap))
        raise ValueError(f"{model_path} trained or validated on characters of {len(overlap)} of the {len(manifest['runs'])} runs in "
                         f"{root} (e.g. {first}: {overlap[first][0]}); scoring it there would test on training classes. Build runs "
                         f"without them: `metrickit fewshot make-runs --model {model_path}`.")


_ENTRY = re.compile(r"^(?:[^/]+/)?([^/]+)/(character\d+)/(\d+)_(\d+)\.png$")


def make_runs(
    archive: str | os.PathLike,
    out_dir: str | os.PathLike,
    *,
    n_runs: int = 20,
    n_way: int = 20,
    seed: int = 0,
    exclude: Iterable[str] = (),
    excluded_models: list[dict[str, Any]] | None = None,
    overwrite: bool = False,
) -> Path:
    """Write ``n_runs`` within-alphabet ``n_way``-way one-shot runs drawn from an Omniglot archive into ``out_dir``.

    Each run picks an alphabet with at least ``n_way`` characters outside ``exclude`` (characters,
    'Alphabet/characterNN', that the models to be scored trained or validated on), ``n_way`` of those characters,
    and two different drawers: one drawing per character for training, one for test (in shuffled order).
    ``manifest.json`` records every run's alphabet, characters and drawings, what was excluded
    (``excluded_models``: their paths and sha256) and the archive's sha256. The folder appears complete or not at all;
    an existing non-empty ``out_dir`` is refused unless ``overwrite``, and then replaced only once the new runs are written.
    """
    from metrickit.runs import check_out_dir

    archive, out = Path(archive), Path(out_dir)
    if not archive.is_file():
        raise DatasetNotFoundError(f"Omniglot archive {archive} does not exist.")
    check_out_dir(out, overwrite)
    excluded = set(exclude)
    rng = np.random.default_rng(seed)
    with zipfile.ZipFile(archive) as zf:
        drawings: dict[str, dict[str, list[str]]] = {}
        for name in zf.namelist():
            match = _ENTRY.match(name)
            if match and f"{match.group(1)}/{match.group(2)}" not in excluded:
                drawings.setdefault(match.group(1), {}).setdefault(match.group(2), []).append(name)
        alphabets = sorted(a for a, chars in drawings.items() if len(chars) >= n_way)
        if not alphabets:
            left = f" outside the {len(excluded)} excluded characters" if excluded else ""
            raise ValueError(f"{archive} has no alphabet with {n_way} characters{left}.")
        out.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
        try:
            records = [_write_run(zf, staging, r, alphabets, drawings, n_way, rng) for r in range(1, n_runs + 1)]
            manifest = {"kind": MANIFEST_KIND, "schema_version": 1, "archive": archive.name, "archive_sha256": file_sha256(archive),
                        "seed": seed, "n_way": n_way, "n_runs": n_runs, "excluded_models": excluded_models or [],
                        "n_excluded_characters": len(excluded), "alphabets": alphabets, "runs": records}
            (staging / MANIFEST).write_text(json.dumps(manifest, indent=1) + "\n")
            old = Path(tempfile.mkdtemp(prefix=f".{out.name}.old.", dir=out.parent))
            if out.exists():
                os.replace(out, old / "runs")  # kept until the new runs are in place
            try:
                os.replace(staging, out)
            except OSError:
                if (old / "runs").exists():
                    os.replace(old / "runs", out)
                raise
            shutil.rmtree(old)
        finally:
            if staging.exists():
                shutil.rmtree(staging)
    return out


def make_runs_for_models(
    model_paths: Iterable[str | os.PathLike], out_dir: str | os.PathLike, *, n_runs: int = 20, seed: int = 0,
    data_dir: str | os.PathLike | None = None, overwrite: bool = False,
) -> dict[str, Any]:
    """What ``metrickit fewshot make-runs`` does: runs from ``images_evaluation.zip`` without any character the given
    models trained or validated on; returns what the manifest says of them."""
    from metrickit.datasets.paths import dataset_dir
    from metrickit.models.base import load_model

    paths = [Path(p) for p in model_paths]
    excluded = set().union(*(model_characters(load_model(p).info, data_dir) for p in paths))
    out = make_runs(dataset_dir("omniglot", data_dir) / "images_evaluation.zip", out_dir, n_runs=n_runs, seed=seed, exclude=excluded,
                    excluded_models=[{"path": str(p), "sha256": file_sha256(p)} for p in paths], overwrite=overwrite)
    manifest = json.loads((out / MANIFEST).read_text())
    return {"out": str(out), "n_runs": n_runs, "alphabets": manifest["alphabets"], "n_excluded_characters": len(excluded)}


def _write_run(zf: zipfile.ZipFile, root: Path, r: int, alphabets: list[str], drawings: dict, n_way: int, rng) -> dict[str, Any]:
    """One run ``runNN`` into ``root``; returns its manifest entry."""
    alphabet = alphabets[rng.integers(len(alphabets))]
    characters = sorted(drawings[alphabet])
    chosen = rng.choice(len(characters), n_way, replace=False)
    run = root / f"run{r:02d}"
    (run / "training").mkdir(parents=True)
    (run / "test").mkdir()
    order = rng.permutation(n_way)
    lines, sources = [], {}
    for k, c in enumerate(chosen):
        files = sorted(drawings[alphabet][characters[c]])
        train_file, test_file = rng.choice(files, 2, replace=False)
        train_name, test_name = f"run{r:02d}/training/class{k + 1:02d}.png", f"run{r:02d}/test/item{order[k] + 1:02d}.png"
        (root / train_name).write_bytes(zf.read(train_file))
        (root / test_name).write_bytes(zf.read(test_file))
        lines.append((test_name, train_name))
        sources.update({train_name: str(train_file), test_name: str(test_file)})
    (run / "class_labels.txt").write_text("".join(f"{t} {c}\n" for t, c in sorted(lines)))
    return {"run": run.name, "alphabet": alphabet, "characters": sorted(f"{alphabet}/{characters[c]}" for c in chosen),
            "drawings": dict(sorted(sources.items()))}

