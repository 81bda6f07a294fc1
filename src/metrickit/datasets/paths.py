"""Where datasets live. The data root is, in order: ``--data-dir`` (``data_dir=``); ``$METRICKIT_DATA``;
``shared/data`` beside the root of the git checkout holding the current folder (``<repo>/../shared/data``);
``../shared/data`` beside the checkout the package was installed from. An explicit folder or the variable is used
alone; otherwise the first of the last two that holds the dataset wins, and a missing dataset names every path tried.
"""

from __future__ import annotations

import os
import zipfile
from pathlib import Path

from metrickit.exceptions import DatasetNotFoundError

__all__ = ["cache_dir", "data_roots", "dataset_dir", "default_data_dir", "open_archive"]

ENV_VAR = "METRICKIT_DATA"


def _checkout_root(start: Path) -> Path | None:
    """The nearest folder at or above ``start`` holding ``.git`` (a folder, or a file in a git worktree)."""
    for folder in (start, *start.parents):
        if (folder / ".git").exists():
            return folder
    return None


def data_roots(data_dir: str | os.PathLike | None = None) -> list[Path]:
    """The data roots to try, in order (see the module docstring), without duplicates."""
    if data_dir is not None:
        return [Path(data_dir)]
    if os.environ.get(ENV_VAR):
        return [Path(os.environ[ENV_VAR])]
    roots = []
    checkout = _checkout_root(Path.cwd().resolve())
    if checkout is not None:
        roots.append(checkout.parent / "shared" / "data")
    installed = Path(__file__).resolve().parents[3]  # src/metrickit/datasets/paths.py -> the checkout installed from
    roots.append(installed.parent / "shared" / "data")
    return list(dict.fromkeys(roots))


def default_data_dir(data_dir: str | os.PathLike | None = None) -> Path:
    """The data root: the first of :func:`data_roots` that exists, else the first."""
    roots = data_roots(data_dir)
    return next((root for root in roots if root.is_dir()), roots[0])


def dataset_dir(name: str, data_dir: str | os.PathLike | None = None) -> Path:
    """The folder of dataset ``name`` under the first data root that holds it, or an error naming every path tried."""
    roots = data_roots(data_dir)
    for root in roots:
        if (root / name).is_dir():
            return root / name
    tried = ", ".join(str(root / name) for root in roots)
    raise DatasetNotFoundError(f"Dataset folder '{name}/' not found; tried {tried}. Pass --data-dir (or data_dir=), or set {ENV_VAR}, "
                               f"to a folder that contains '{name}/'.")


def cache_dir() -> Path:
    """Where decoded datasets are kept: ``$METRICKIT_CACHE``, else ``$XDG_CACHE_HOME/metrickit``, else ``~/.cache/metrickit``
    (never the repository or the read-only data folder)."""
    if os.environ.get("METRICKIT_CACHE"):
        return Path(os.environ["METRICKIT_CACHE"])
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "metrickit"


def open_archive(path: Path, expected: str) -> zipfile.ZipFile:
    """A dataset's zip archive, opened; a missing file or a file that is not a zip raises naming it and ``expected``."""
    if not path.is_file():
        raise DatasetNotFoundError(f"archive {path} does not exist (expected {expected}).")
    try:
        return zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as error:
        raise ValueError(f"{path} is not a readable zip archive ({error}); expected {expected}.") from None
