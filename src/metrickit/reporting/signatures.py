"""Sections for on-line signature verification under SVC2004's protocol."""

from __future__ import annotations

from pathlib import Path

from metrickit.reporting._common import provenance_bullets
from metrickit.reporting.document import Paragraph, Section, Table

__all__ = ["BUILDERS"]

_NAMES = {"dtw": "DTW on per-point features", "euclidean": "Euclidean, features resampled to 64 points",
          "dtw-lmnn": "DTW, local cost learned by LMNN", "embedder": "1-D conv embedder (contrastive / triplet)"}


def _signature_online(record: dict, path: Path) -> list[Section]:
    pct = lambda value: f"{100 * value:.2f}%"  # noqa: E731
    rows = []
    for row in record["rows"]:
        summary = row["summary"]
        rows.append([_NAMES.get(row["method"], row["method"]),
                     f"{pct(summary['eer_skilled']['mean'])} ± {pct(summary['eer_skilled']['sd'])}",
                     f"{pct(summary['eer_random']['mean'])} ± {pct(summary['eer_random']['sd'])}",
                     f"{pct(summary['global_frr'])} / {pct(summary['global_far_skilled'])} / {pct(summary['global_far_random'])}",
                     _paired(row), ", ".join(fold.get("chosen") or "-" for fold in row["folds"]) or "-",
                     f"{1000 * row['seconds_per_verification']:.2f}", f"{row['protocol_seconds']:.1f}"])
    competition = record["competition"]
    blocks = [
        Paragraph(f"{record['dataset']}: writers in 3 folds of 10 ({record['folds']}); per user {record['trials']} seeded trials of 5 "
                  "enrolment signatures from S1-S10, tested on genuine S11-S20, the 20 skilled forgeries S21-S40 and 20 random "
                  "forgeries (genuine signatures of the fold's other users), the same for every method. EER per user and trial, "
                  "averaged; mean ± sd over the fold x trial averages; the difference from DTW is paired by fold and trial. "
                  "Validation writers (the first half of the next fold) choose a learned method's settings and calibrate the "
                  "global threshold (EER against skilled forgeries); learned methods train on the other 15 writers, never on "
                  "validation or test writers. Context, not a bar: SVC2004's best skilled-forgery "
                  f"EERs were {pct(competition['task1_best_skilled_eer'])} (Task 1) and {pct(competition['task2_best_skilled_eer'])} "
                  f"(Task 2) ({competition['source']}). {record['threads']} thread(s); DTW band {record['window']} points."),
        provenance_bullets(record),
        Table(["method", "skilled EER", "random EER", "global threshold: FRR / FAR skilled / FAR random",
               "skilled EER vs DTW (± SE over folds)", "chosen per fold", "ms per verification", "protocol (s)"], rows),
    ]
    libraries = record.get("libraries")
    if libraries:
        blocks.append(Paragraph(
            f"DTW library: dtaidistance (through metrickit) against tslearn {libraries.get('tslearn_version') or '?'} on the same "
            f"{libraries['pairs']} pairs of user 1's feature sequences, unbanded: "
            + (f"{1e6 * libraries['dtaidistance_seconds_per_pair']:.0f} µs vs {1e6 * libraries['tslearn_seconds_per_pair']:.0f} µs a pair "
               f"({libraries['speedup']:.1f}x), largest distance difference {libraries['max_abs_difference']:.1e}."
               if "speedup" in libraries else f"tslearn {libraries['tslearn_status']}.")))
    return [Section("On-line signatures: SVC2004 Task 2, the competition's protocol", blocks)]


def _paired(row: dict) -> str:
    difference = row.get("vs_dtw_skilled")
    if difference is None:
        return "-"
    return f"{100 * difference['mean']:+.2f} ± {100 * difference['se_over_folds']:.2f} points"


def _fold_rows(folds: list[dict]) -> list[list[str]]:
    pct = lambda value: f"{100 * value:.2f}%"  # noqa: E731
    rows = []
    for fold in folds:
        skilled = sum(t["eer_skilled"] for t in fold["per_trial"]) / len(fold["per_trial"])
        random = sum(t["eer_random"] for t in fold["per_trial"]) / len(fold["per_trial"])
        rates = fold["global_threshold"]
        rows.append([str(fold.get("fold")), str(fold.get("chosen") or fold.get("method") or "-"), ", ".join(fold.get("test_writers") or []) or "-",
                     pct(skilled), pct(random), f"{pct(rates['frr'])} / {pct(rates['far_skilled'])} / {pct(rates['far_random'])}"])
    return rows


def _signature_folds(record: dict, path: Path) -> list[Section]:
    folds = record.get("repeats") or record.get("folds") or []
    summary = record["summary"]
    title = (f"SVC2004 Task 2: {record.get('method', 'signature models')} by the competition's protocol"
             if record.get("kind") == "signature-training" else "SVC2004 Task 2: signature models on their own test writers")
    return [Section(title, [
        Paragraph(f"Skilled-forgery EER {100 * summary['eer_skilled']['mean']:.2f}% ± {100 * summary['eer_skilled']['sd']:.2f}%, random "
                  f"{100 * summary['eer_random']['mean']:.2f}% ± {100 * summary['eer_random']['sd']:.2f}% (per user and trial, averaged; "
                  "± sd over folds x trials). Global threshold (set on validation writers): FRR / FAR skilled / FAR random."),
        Table(["fold", "setting", "test writers", "skilled EER", "random EER", "global threshold"], [
            [row[0], row[1], row[2] if len(row[2]) < 40 else row[2][:37] + "...", *row[3:]] for row in _fold_rows(folds)]),
    ])]


BUILDERS = {"signature-online": _signature_online, "signature-training": _signature_folds, "signature-eval": _signature_folds}
