"""What the section builders share: provenance lines, mean ± sd cells, the images beside a result file."""

from __future__ import annotations

from pathlib import Path

from metrickit.datasets.identity_split import IdentitySplit
from metrickit.reporting.document import Bullets, Image, Section

__all__ = ["images", "pm", "provenance_bullets", "repeats_training"]


def titled(what: str, path: Path, *, parenthesised: bool = False) -> str:
    """``what: <run folder>`` (or ``what (<run folder>)``), or ``what`` alone for a result with no folder (printed
    without --out)."""
    name = path.parent.name
    if not name:
        return what
    return f"{what} ({name})" if parenthesised else f"{what}: {name}"


def provenance_bullets(record: dict) -> Bullets:
    """Command, finish time, threads, CPU, git SHA and versions of a result (and its note, if any)."""
    prov = record.get("provenance", {})
    items = []  # only what the record holds (a result printed without --out has no provenance)
    if prov:
        items += [f"command: `{prov.get('command', '?')}`; finished {record.get('finished', '?')}",
                  f"threads: {prov.get('threads')}; CPU: {prov.get('cpu')} ({prov.get('cpu_count')} cores); git {prov.get('git_sha')}",
                  f"versions: {', '.join(f'{k} {v}' for k, v in prov.get('versions', {}).items())}"]
    if "provenance_note" in record:
        items.append(f"note: {record['provenance_note']}")
    return Bullets(items)


def pm(stat: dict | None, pct: bool = True) -> str:
    """A mean ± sd cell (percent by default); '-' when missing."""
    if stat is None:
        return "-"
    return f"{stat['mean']:.2%} ± {stat['sd']:.2%}" if pct else f"{stat['mean']:.4f} ± {stat['sd']:.4f}"


def images(folder: Path, names: list[tuple[str, str]]) -> list[Image]:
    """The named PNGs that exist in ``folder``, with their captions."""
    return [Image(folder / name, caption) for name, caption in names if (folder / name).is_file()]


def repeats_training(record: dict, path: Path) -> list[Section]:
    """A protocol's training run: the validation score of every repeat (fold or seed) and of the final model."""
    def validation(r: dict) -> str:
        return f"ROC AUC {r['val']['roc_auc']:.4f}, EER {r['val']['eer']:.2%}" if "val" in r else f"mAP {r['val_map']:.2%}"

    def label(r: dict) -> str:
        return IdentitySplit.from_dict(r["split"]).label

    items = [f"{label(r)}: validation {validation(r)}, {r['train_seconds']:.0f} s" for r in record["repeats"]]
    if record.get("final"):
        items.append(f"final model: validation {validation(record['final'])}")
    return [Section(f"{titled('Training run', path)} ({record['config']['method']})", [Bullets(items), provenance_bullets(record)])]
