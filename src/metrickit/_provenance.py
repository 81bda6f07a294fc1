"""What produced a result: package versions, git SHA, threads, CPU; recorded in every JSON we write."""

from __future__ import annotations

import os
import platform
import subprocess
import sys
from importlib import metadata
from pathlib import Path

__all__ = ["cpu_name", "git_sha", "package_versions", "provenance"]

_PACKAGES = ("metrickit", "numpy", "scipy", "scikit-learn", "cvxpy", "torch", "faiss-cpu", "matplotlib", "safetensors", "pytorch-metric-learning", "onnxruntime", "dtaidistance")


def package_versions(packages: tuple[str, ...] = _PACKAGES) -> dict[str, str]:
    """Installed versions of ``packages`` (those absent are left out), plus Python's."""
    versions = {"python": platform.python_version()}
    for name in packages:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return versions


def git_sha(path: str | os.PathLike | None = None) -> str | None:
    """The commit of the checkout holding ``path`` (default: this package), with '-dirty' if modified."""
    cwd = Path(path) if path else Path(__file__).resolve().parent
    try:
        sha = subprocess.run(["git", "rev-parse", "HEAD"], cwd=cwd, capture_output=True, text=True, timeout=10)
        if sha.returncode != 0:
            return None
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=cwd, capture_output=True, text=True, timeout=10)
        return sha.stdout.strip() + ("-dirty" if dirty.stdout.strip() else "")
    except (OSError, subprocess.TimeoutExpired):
        return None


def cpu_name() -> str:
    """The CPU model from /proc/cpuinfo, else ``platform.processor()``."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def provenance() -> dict:
    """A record of the environment: command line, versions, git SHA, the threads compute ran on, and CPU."""
    from metrickit._threads import current_threads

    return {
        "command": " ".join([Path(sys.argv[0]).name, *sys.argv[1:]]),
        "versions": package_versions(),
        "git_sha": git_sha(),
        "threads": current_threads(),
        "cpu": cpu_name(),
        "cpu_count": os.cpu_count(),
        "platform": platform.platform(),
    }
