"""Run a benchmark worker in a subprocess under a time limit and an address-space limit."""

from __future__ import annotations

import resource
import subprocess
from pathlib import Path


def run_limited(cmd: list[str], out: Path, timeout: float, mem_gb: float) -> str | None:
    """Run ``cmd``; None when it succeeded and wrote ``out``, else a status such as 'timeout after 600 s'."""
    limit = int(mem_gb * 2**30)

    def limits() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))

    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, preexec_fn=limits)
    except subprocess.TimeoutExpired:
        return f"timeout after {timeout:.0f} s"
    if proc.returncode != 0 or not out.exists():
        tail = (proc.stderr.strip().splitlines() or ["?"])[-1]
        return f"failed: {tail[:200]}"
    return None
