"""The last step of every benchmark script: figures beside the result JSON, the tagged JSON itself, its sections printed."""

from __future__ import annotations

import shutil
from pathlib import Path


def publish(target: str | Path, kind: str, record: dict, figures: dict[str, Path] | None = None) -> dict:
    """Copy each existing figure to ``<stem>-<name>.png`` beside ``target`` (``<stem>.png`` for the name ''), write
    ``record`` there as a ``kind`` result, print its report sections, and return what was written."""
    from metrickit._io import atomic_path
    from metrickit.reporting import result_text
    from metrickit.runs import write_results

    target = Path(target)
    for name, source in (figures or {}).items():
        if Path(source).is_file():
            with atomic_path(target.with_name(f"{target.stem}{'-' + name if name else ''}.png"), overwrite=True) as tmp:
                shutil.copyfile(source, tmp)
    written = write_results(target, kind, record)
    print(result_text(written, target))
    print(f"wrote {target}", flush=True)
    return written
