"""Bring result files written by older versions to the current format, in place (idempotent).

    python scripts/migrate_results.py bench/results/*.json

- Every file gets the ``kind`` and ``schema_version`` it would be written with now (told apart, for untagged files, as
  the reports once told them apart).
- Configs recorded flat (before the config sections) are stored in sections, with the names they have now (few-shot:
  ``method`` -> ``loss``, ``episodes_per_epoch`` -> ``batches_per_epoch``, conv-4's ``hidden`` -> ``width``), without
  the margin or miner once recorded for losses that have none.
- A protocol's repeats, once listed as ``folds`` or ``seeds``, are ``repeats``; a verification fold's record (``fold``)
  is its ``split`` (with the seed that drew it), and an evaluated fold's number is its ``index``.
- The thread count is kept once, in the provenance (a speed benchmark's cells each record theirs).
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
    return config_cls.from_flat(_applicable(flat)).as_dict()


def _applicable(flat: dict[str, Any]) -> dict[str, Any]:
    """Without the loss settings its loss does not have (older versions recorded a margin and a miner for every loss,
    and ignored them where they did not apply)."""
    from metrickit._loss_settings import LOSS_SETTINGS

    settings = LOSS_SETTINGS.get(flat.get("loss", flat.get("method")))
    if settings is None:
        return flat
    return {k: v for k, v in flat.items()
            if not (k in ("margin", "scale", "temperature") and getattr(settings, k) is None or k == "miner" and v not in settings.miners)}


def migrate(record: dict[str, Any]) -> dict[str, Any]:
    from metrickit.fewshot.config import FewShotConfig
    from metrickit.reid.config import ReidConfig
    from metrickit.training.config import TrainConfig
    from metrickit.runs import tagged
    from metrickit.verification.config import VerifyConfig

    fewshot: Callable = lambda c: _nest(c, FewShotConfig, RENAMES["fewshot"])  # noqa: E731
    benchmark = str(record.get("benchmark", ""))
    kind = record.get("kind") or _old_kind(record)
    if kind is None:
        return record
    _move_threads(record)
    for entry in [*record.get("methods", {}).values(), *record.get("training", {}).values()] if kind.endswith("benchmark") else []:
        for old in ("folds", "seeds"):
            if old in entry:
                entry["repeats"] = entry.pop(old)
        seed = record.get("seed", 0)
        for repeat in [*entry.get("repeats", []), *([entry["final"]] if entry.get("final") else [])]:
            if isinstance(repeat.get("fold"), dict):
                repeat["split"] = {"seed": seed, **repeat.pop("fold")}
            elif "fold" in repeat:
                repeat["index"] = repeat.pop("fold")
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
    return tagged(kind, record)


def _old_kind(record: dict[str, Any]) -> str | None:
    """The kind of an untagged record, told apart as the reports did before results were tagged."""
    benchmark = record.get("benchmark")
    if isinstance(benchmark, str):
        for prefix in ("verify-", "reid-"):
            if benchmark.startswith(prefix):
                return prefix + "benchmark"
        return benchmark
    if "episodes" in record and "methods" in record:
        return "fewshot-eval"
    if record.get("dataset") in ("orl", "svc2004") and "methods" in record:
        return "verify-eval"
    if record.get("dataset") == "market1501_subset" and "methods" in record:
        return "reid-eval"
    if "euclidean_error" in record and "lmnn_error" in record and "unseen_classes" in record:
        return "demo"
    if "history" in record and "config" in record:
        return "training-run"
    return None


def _move_threads(record: dict[str, Any]) -> None:
    """A top-level thread count goes to the provenance (or, for the speed benchmark, to every cell)."""
    if "threads" not in record:
        return
    threads = record.pop("threads")
    for cell in record.get("cells", []):
        cell.setdefault("threads", threads)
    if not isinstance(threads, list):
        record.setdefault("provenance", {}).setdefault("threads", threads)


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
