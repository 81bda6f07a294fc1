"""Bring result files written by older versions to the current format, in place (idempotent).

    python scripts/migrate_results.py bench/results/*.json

Configs recorded flat (before the config sections) are stored in sections, with the names they have now (few-shot:
``method`` -> ``loss``, ``episodes_per_epoch`` -> ``batches_per_epoch``, conv-4's ``hidden`` -> ``width``); the
thread count, once part of every config, is left to the provenance.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any, Callable

RENAMES = {"fewshot": {"method": "loss", "episodes_per_epoch": "batches_per_epoch", "hidden": "width"}}


def _nest(config: dict[str, Any], config_cls, renames: dict[str, str] | None = None) -> dict[str, Any]:
    """A flat recorded config in sections; one already in sections is returned as it is."""
    if any(isinstance(v, dict) for v in config.values()):
        return config
    flat = {(renames or {}).get(k, k): v for k, v in config.items() if k != "threads"}
    return config_cls.from_flat(flat).as_dict()


def migrate(record: dict[str, Any]) -> dict[str, Any]:
    from metrickit.fewshot.config import FewShotConfig
    from metrickit.reid.config import ReidConfig
    from metrickit.training.config import TrainConfig
    from metrickit.verification.config import VerifyConfig

    fewshot: Callable = lambda c: _nest(c, FewShotConfig, RENAMES["fewshot"])  # noqa: E731
    benchmark = str(record.get("benchmark", ""))
    if benchmark == "fewshot-omniglot":
        for entry in record["methods"].values():
            entry["config"] = fewshot(entry["config"])
            if entry.get("lake"):
                entry["lake"]["selection"]["config"] = fewshot(entry["lake"]["selection"]["config"])
    elif benchmark == "fewshot-shapes":
        for row in record["rows"]:
            row["config"] = fewshot(row["config"])
    elif benchmark.startswith("verify-"):
        for entry in record["training"].values():
            entry["config"] = _nest(entry["config"], VerifyConfig)
    elif benchmark.startswith("reid-"):
        for entry in record["training"].values():
            entry["config"] = _nest(entry["config"], ReidConfig)
    elif benchmark == "deep-quality":
        for entry in record["methods"].values():
            if "config" in entry:
                entry["config"] = _nest(entry["config"], TrainConfig)
    return record


def main(paths: list[str]) -> int:
    for path in map(Path, paths):
        before = json.loads(path.read_text())
        after = migrate(json.loads(path.read_text()))
        if after != before:
            path.write_text(json.dumps(after, indent=2) + "\n")
            print(f"migrated {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
