"""Sections for verification: the benchmark over folds, training runs and evaluations."""

from __future__ import annotations

from pathlib import Path
from typing import Callable

from metrickit._config import flatten
from metrickit.reporting._common import images, pm, provenance_bullets, repeats_training, titled
from metrickit.evaluation.verification import MIN_FALSE_ACCEPTS
from metrickit.reporting.document import Bullets, Paragraph, Section, Table
from metrickit.verification.evaluate import GENUINE_TESTS, REFERENCES, SKILLED

__all__ = ["BUILDERS"]


_DATASETS = {"orl": ("Face verification on unseen people: AT&T/ORL", "subjects"),
             "svc2004": ("Signature verification on unseen writers: SVC2004", "users")}


def _verify_table(record: dict, seconds: Callable[[str], str] | None = None) -> Table:
    signatures = record["dataset"] == "svc2004"
    columns = ["method", "ROC AUC", "EER (pooled, writer-independent)" if signatures else "EER", "accuracy at threshold",
               "balanced accuracy", "TAR at FAR 1%"] + (["per-user EER, skilled", "per-user EER, random"] if signatures else [])
    rows = []
    for name, entry in record["methods"].items():
        s = entry["summary"]
        row = [name, pm(s["roc_auc"], pct=False), pm(s["eer"]), pm(s["accuracy"]), pm(s["balanced_accuracy"]), pm(s["tar_at_far"].get("1%"))]
        rows.append(row + ([pm(s.get("user_eer_skilled")), pm(s.get("user_eer_random"))] if signatures else [])
                    + ([seconds(name)] if seconds else []))
    return Table(columns + (["training (s, all folds)"] if seconds else []), rows)


def _verify(record: dict, path: Path) -> list[Section]:
    """The benchmark: every fact about the folds and pairs is read from the record (what the protocol code did)."""
    dataset = record["dataset"]
    training = next(iter(record["training"].values()))
    first, folds = flatten(training["config"]), [r["split"] for r in training["repeats"]]
    n_ids = len({i for f in folds for i in f["test"] + f["val"] + f["fit"]})
    report = next(iter(record["methods"].values()))["repeats"][0]["report"]
    n_test, n_val = len(folds[0]["test"]), len(folds[0]["val"])
    title, who = _DATASETS.get(dataset, (f"Verification: {dataset}", "identities"))
    if dataset == "svc2004":
        pairs = (f"every genuine-genuine pair ({report['n_genuine'] // n_test} per user) against every genuine-skilled forgery pair "
                 f"({report['n_impostor'] // n_test} per user); the per-user EER follows SVC2004 (references S{REFERENCES[0]}-"
                 f"S{REFERENCES[-1]}, genuine S{GENUINE_TESTS[0]}-S{GENUINE_TESTS[-1]}, skilled S{SKILLED[0]}-S{SKILLED[-1]}, random = the "
                 "other test users' genuine signatures; mean distance to the references)")
    else:
        pairs = f"all {report['n_genuine']:,} genuine and {report['n_impostor']:,} impostor pairs of the {n_test} test {who}"
    return [Section(f"{title} ({n_ids} {who}), {len(folds)} folds of {n_test} test {who}", [
        Paragraph(f"In each fold the method learns on the training identities minus {n_val} validation identities, which choose the "
                  "epoch (deep) or PCA size (LMNN) and calibrate the threshold (the EER threshold of their pairs); the test identities are "
                  f"seen only here. Test pairs: {pairs}. Mean ± sd over folds. Deep methods: {first['architecture']}, "
                  f"{first['embedding_dim']}-d, {first['epochs']} epochs x {first['batches_per_epoch']} batches of "
                  f"{first['n_classes_per_batch']} x {first['n_per_class']}, {first['optimizer'].capitalize()} {first['learning_rate']:g}. "
                  f"A TAR at a FAR needs at least {MIN_FALSE_ACCEPTS} / FAR impostor pairs; a missing one is marked -."),
        provenance_bullets(record),
        _verify_table(record, lambda name: f"{record['training'][name]['train_seconds']:.0f}"),
        *images(path.parent, [(f"{path.stem}-{name}.png", caption) for name, caption in
                               (("roc", "ROC, mean over folds"), ("distances", "pair distances / threshold"), ("projection", "test embeddings, 2-D PCA"))]),
    ])]


def _verify_eval(record: dict, path: Path) -> list[Section]:
    return [Section(titled(f"Verification: {record['dataset']}", path, parenthesised=True), [
        provenance_bullets(record), _verify_table(record),
        *images(path.parent, [("roc.png", "ROC"), ("distances.png", "pair distances / threshold"), ("projection.png", "test embeddings")]),
    ])]


def _verify_predict(record: dict, path: Path) -> list[Section]:
    rows = [["same" if r["same"] else "different", f"{r['distance']:.4g}", r["first"], r["second"]] for r in record["pairs"][:20]]
    more = len(record["pairs"]) - len(rows)
    notes = [f"... {more} more"] if more > 0 else []
    if record.get("out"):
        notes.append(f"wrote {len(record['pairs'])} rows to {record['out']}")
    return [Section(f"Verification with `{record['model']}` (threshold {record['threshold']:.4g})",
                    [Table(["decision", "distance", "first", "second"], rows), *([Bullets(notes)] if notes else [])])]


def _verify_nested(record: dict, path: Path) -> list[Section]:
    """The nested benchmark: per method, the settings chosen in each outer fold, the outer scores and the paired
    difference against the baseline across outer folds."""
    methods, baseline, paired = record["methods"], record["baseline"], record["paired"]
    first = next(iter(methods.values()))
    n_test = len(first["folds"][0]["test_identities"])
    rows = []
    for name, result in methods.items():
        s, diff = result["summary"], paired.get(name)
        verdict = "-" if diff is None else ("yes" if diff["eer"]["mean"] < -2 * diff["eer"]["se"] else "no")
        rows.append([name, ", ".join(f["chosen"] for f in result["folds"]), pm(s["roc_auc"], pct=False), pm(s["eer"]),
                     "-" if diff is None else f"{diff['eer']['mean']:+.2%} ± {diff['eer']['se']:.2%}", verdict])
    ranked = sorted((n for n in methods if n != baseline), key=lambda n: methods[n]["summary"]["eer"]["mean"])[:3]
    shown = [baseline, *ranked]
    per_identity = {n: {r["identity"]: r["eer"] for f in methods[n]["folds"] for r in f.get("identities", [])} for n in shown}
    identities = sorted(per_identity[baseline], key=lambda i: (len(str(i)), str(i)))
    return [Section(f"Face verification, nested: {record['dataset'].upper()} ({len(identities)} subjects), {record['n_outer']} outer folds "
                    f"of {n_test}", [
        Paragraph(f"In each outer fold, only the other identities choose a method's setting (the candidate with the lowest mean EER "
                  f"over {record['n_inner']} inner cross-identity folds) and train the chosen one ({record['n_val']} seeded validation "
                  "identities choose its epoch and set its threshold); it is scored once on the outer fold's test identities, "
                  "which no choice saw. Mean ± sd over outer folds; the difference against "
                  f"{baseline} is paired by outer fold (mean ± standard error), and 'below by > 2 SE' asks whether the learned "
                  f"metric's EER is lower than {baseline}'s by more than two standard errors."),
        provenance_bullets(record),
        Table(["method", "chosen per outer fold", "ROC AUC", "EER", f"EER - {baseline}", "below by > 2 SE"], rows),
        Paragraph(f"Per-subject EER (its genuine pairs against its impostor pairs, within its outer fold's test subjects), "
                  f"{baseline} and the three methods with the lowest mean EER:"),
        Table(["subject", *shown], [[str(i), *(f"{per_identity[n][i]:.1%}" if i in per_identity[n] else "-" for n in shown)]
                                    for i in identities]),
    ])]


BUILDERS = {
    "verify-benchmark": _verify,
    "verify-nested-benchmark": _verify_nested,
    "verify-training": repeats_training,
    "verify-eval": _verify_eval,
    "verify-predict": _verify_predict,
}
