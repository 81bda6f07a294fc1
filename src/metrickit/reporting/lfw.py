"""Sections for face verification on LFW: View 1's choices, the View 2 report, training runs and evaluations."""

from __future__ import annotations

from pathlib import Path

from metrickit.reporting._common import images, provenance_bullets, titled
from metrickit.reporting.document import Bullets, Paragraph, Section, Table

__all__ = ["BUILDERS"]

_UNSUPERVISED = ("euclidean", "pca", "hog-pca")


def _settings(settings: dict) -> str:
    return ", ".join(f"{k} {v}" for k, v in settings.items()) or "-"


def _view1(record: dict, path: Path) -> list[Section]:
    rows = [[row["method"], row["setting"], str(len(row["tried"])), _settings(row["chosen"]), f"{row['chosen_roc_auc']:.4f}",
             f"{min(t['eer'] for t in row['tried'] if t['roc_auc'] == row['chosen_roc_auc']):.2%}",
             f"{sum(t['seconds'] for t in row['tried']) / 60:.1f}"] for row in record["rows"]]
    return [Section("LFW View 1 (development): every setting chosen here", [
        Paragraph(f"Protocol: {record['protocol']}. The candidate with the highest ROC AUC on pairsDevTest is kept for View 2 "
                  "(deep methods: its best epoch, too). View 2 is never looked at while choosing. "
                  f"{record['threads']} thread(s)."),
        provenance_bullets(record),
        Table(["method", "setting", "candidates", "chosen", "View 1 AUC", "View 1 EER", "minutes (all candidates)"], rows)])]


def _benchmark(record: dict, path: Path) -> list[Section]:
    pct = lambda v: "n/a" if v is None else f"{v:.2%}"  # noqa: E731
    rows = []
    for row in sorted(record["rows"], key=lambda r: (r["setting"], -r["summary"]["accuracy_mean"])):
        s = row["summary"]
        kind = "unsupervised" if row["method"] in _UNSUPERVISED else row["setting"]
        rows.append([row["method"], kind, f"{s['accuracy_mean']:.2%} ± {s['accuracy_se']:.2%}", f"{s['roc_auc_mean']:.4f}", pct(s["eer_mean"]),
                     pct(s["tar_at_far_1pct_pooled"]), _settings(row["settings"]), f"{row['minutes_per_fold']:.1f}"])
    rows += [[p["method"], p["setting"], f"{p['accuracy']:.1%} (published)", "", "", "", p["source"], ""] for p in record["published"]]
    notes = []
    for setting, entry in record.get("comparisons", {}).items():
        for baseline in ("softmax", "euclidean"):
            d = entry.get(f"vs_{baseline}")
            if d:
                notes.append(f"{setting}: best deep metric {entry['best_deep']} vs {baseline}: {100 * d['mean']:+.2f} ± {100 * d['se']:.2f} "
                             "points of accuracy (paired by fold, ± SE)")
        if "best_learned" in entry:
            notes.append(f"{setting}: best learned metric {entry['best_learned']}")
    return [Section("Face verification on LFW: View 2, 10 person-disjoint folds", [
        Paragraph("LFW's own protocol on the aligned grayscale images: each of 10 experiments tests one fold (300 matched + 300 "
                  "mismatched pairs of people in no other fold), the next fold sets the distance threshold (best accuracy), and "
                  "the other eight train: their pairs only (image-restricted) or every image of their people with their "
                  "identities (unrestricted); no outside data. Every setting came from View 1 (lfw-view1.json). Accuracy is the "
                  "mean over the folds ± standard error; TAR at FAR 1% pools the 3,000 mismatched pairs with each fold's "
                  "distances in units of its threshold. Published figures are of the same protocol and setting (their "
                  f"images and descriptors differ). {record['threads']} thread(s)."),
        provenance_bullets(record),
        Table(["method", "setting", "accuracy", "AUC", "EER", "TAR at FAR 1% (pooled)", "settings (from View 1)", "minutes per fold"], rows),
        Bullets(notes), *images(path.parent, [(f"{path.stem}-roc.png", "mean ROC over the 10 folds")])])]


def _training(record: dict, path: Path) -> list[Section]:
    items = [f"{r['experiment']}: {r['method']} ({r['setting']}), {r['training']['images']} training images, threshold "
             f"{'none (View 1)' if r['threshold'] is None else round(r['threshold'], 4)}, {r['train_seconds']:.0f} s"
             for r in [*record["repeats"], *([record["final"]] if record.get("final") else [])]]
    return [Section(titled("LFW training run", path), [Bullets(items), provenance_bullets(record)])]


def _eval(record: dict, path: Path) -> list[Section]:
    rows = []
    for name, method in record["methods"].items():
        s = method["summary"]
        if record["view"] == "view2":
            rows.append([name, method["setting"], f"{s['accuracy_mean']:.2%} ± {(s['accuracy_se'] or 0):.2%}", f"{s['roc_auc_mean']:.4f}",
                         f"{s['eer_mean']:.2%}", "n/a" if s["tar_at_far_1pct_pooled"] is None else f"{s['tar_at_far_1pct_pooled']:.2%}",
                         str(s["n_folds"])])
        else:
            rows.append([name, method["setting"], "-", f"{s['roc_auc']:.4f}", f"{s['eer']:.2%}", "-", "View 1"])
    return [Section(titled(f"LFW evaluation ({record['view'].replace('view', 'View ')})", path), [
        Table(["method", "setting", "accuracy ± SE", "AUC", "EER", "TAR at FAR 1% (pooled)", "folds"], rows),
        provenance_bullets(record), *images(path.parent, [("roc.png", "mean ROC")])])]


BUILDERS = {"lfw-view1": _view1, "lfw-benchmark": _benchmark, "lfw-training": _training, "lfw-eval": _eval}
