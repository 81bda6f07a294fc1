"""Sections for LMNN: the benchmark against its peers, the choice of PCA size, and the demo."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from metrickit.reporting._common import images, titled
from metrickit.reporting.document import Bullets, Paragraph, Section, Table

__all__ = ["BUILDERS"]


_LMNN_ORDER = ("euclidean", "nca", "metric-learn", "pylmnn", "metrickit")


def _lmnn(record: dict, path: Path) -> list[Section]:
    def ok(entry: dict) -> list[dict]:
        return [s for s in entry["per_split"] if s["status"] == "ok"]

    def mean_sd(values: list[float]) -> str:
        if len(values) == 1:
            return f"{values[0] * 100:.2f}%"
        return f"{np.mean(values) * 100:.2f} ± {np.std(values, ddof=1) * 100:.2f}%"

    methods = record["methods"]
    ours = ok(methods.get("metrickit", {"per_split": []}))
    our_time = float(np.median(ours[0]["fit_seconds_repeats"])) if ours else None
    rows = []
    for name in sorted(methods, key=lambda m: _LMNN_ORDER.index(m) if m in _LMNN_ORDER else 99):
        runs, failed = ok(methods[name]), [s for s in methods[name]["per_split"] if s["status"] != "ok"]
        if not runs:
            rows.append([name, failed[0]["status"], *["-"] * 5])
            continue
        t, reps = float(np.median(runs[0]["fit_seconds_repeats"])), len(runs[0]["fit_seconds_repeats"])
        speed = "-"
        if name not in ("metrickit", "euclidean") and our_time is not None and t >= 2.0:
            speed = f"{t / our_time:.1f}x" if our_time >= 2.0 else f">{t / 2.0:.1f}x (metrickit < 2 s)"
        obj = float(np.mean([r["objective"] for r in runs]))
        our_obj = float(np.mean([r["objective"] for r in ours[: len(runs)]])) if ours else None
        rel = "-" if our_obj is None or name == "metrickit" else f"{obj / our_obj:.4f}"
        note = f" ({len(failed)} failed)" if failed else ""
        rows.append([name, f"{mean_sd([r['test_error'] for r in runs])}{note}", f"{t:.2f} (n={reps})", f"{runs[0]['peak_rss_mib']:.0f}",
                     f"{obj:.6g}", speed, rel])
    prov, n = record["provenance"], record["splits"][0]
    title = record["dataset"] + (f" (n_train = {n['n_train']:,})" if record["dataset"] == "mnist" else "")
    bullets = Bullets([
        f"command: `{prov['command']}`; {record['started']} to {record['finished']}",
        f"splits: {len(record['splits'])} x {n.get('split', '')} (seeds {', '.join(str(s['seed']) for s in record['splits'])}), "
        f"{n['n_train']} train / {n['n_test']} test; features: {n['features']}",
        f"threads: {prov['threads']}; CPU: {prov['cpu']} ({prov['cpu_count']} cores); limits: {record['timeout_s']:.0f} s, "
        f"{record['mem_limit_gb']:.0f} GB per fit; git {prov['git_sha']}",
        f"versions: {', '.join(f'{k} {v}' for k, v in prov['versions'].items())}",
    ])
    columns = ["method", "3-NN test error", "fit time (s, split 0, median)", "peak memory (MiB)", "exact objective (mean)",
               "metrickit speed-up", "objective vs metrickit"]
    return [Section(f"LMNN: {title}", [bullets, Table(columns, rows)])]


def _lmnn_select(record: dict, path: Path) -> list[Section]:
    rows = [[str(r["pca"]), f"{r['euclidean_val_error']:.2%}", f"{r['lmnn_val_error']:.2%}", f"{r['fit_seconds']:.0f}", str(r["n_iter"])]
            for r in record["rows"]]
    return [Section("MNIST: choosing the PCA dimension on validation data", [
        Bullets([f"command: `{record['provenance']['command']}`; split: {record['split']} (the test set is not used)"]),
        Table(["PCA", "Euclidean 3-NN validation error", "LMNN 3-NN validation error", "LMNN fit (s)", "L-BFGS iterations"], rows),
        Paragraph(f"Selected: PCA-{record['selected_pca']} (lowest LMNN validation error). These fits shared the machine with other "
                  "work, so their times are indicative only."),
    ])]


def _errors(record: dict) -> list[str]:
    if "euclidean_error" not in record:
        return []
    return [f"{record['eval_neighbors']}-NN test error: Euclidean {record['euclidean_error']:.2%}, learned {record['lmnn_error']:.2%} "
            f"({record['n_train']} train / {record['n_test']} test)"]


def _lmnn_fit(record: dict, path: Path) -> list[Section]:
    state = "converged" if record["converged"] else "NOT converged"
    items = [f"objective {record['objective']:.6g} after {record['n_iter']} iterations, {state}, {record['fit_seconds']:.1f} s",
             *_errors(record), *([f"model: `{record['model']}`"] if record.get("model") else [])]
    return [Section(f"LMNN on {record['data']['dataset']}", [Bullets(items)])]


def _lmnn_evaluate(record: dict, path: Path) -> list[Section]:
    return [Section(f"LMNN model `{record['model']}` on {record['data']['dataset']}", [Bullets(_errors(record))])]


def _demo(record: dict, path: Path) -> list[Section]:
    rel = 1.0 - record["lmnn_error"] / record["euclidean_error"] if record["euclidean_error"] else float("nan")
    blocks = [
        Paragraph(f"digits: {record['n_train']} train / {record['n_test']} test (stratified 70/30, seed {record['split']['seed']}), 3-NN. "
                  f"Relative error reduction {rel:.1%}; LMNN objective {record['objective']:.6g} after {record['n_iter']} iterations."),
        Table(["metric", "test error", "fit (s)"], [["Euclidean", f"{record['euclidean_error']:.2%}", "-"],
                                                    ["LMNN", f"{record['lmnn_error']:.2%}", f"{record['fit_seconds']:.1f}"]]),
    ]
    part = record.get("unseen_classes")
    if part:
        blocks += [
            Paragraph(f"Unseen classes: metrics learned on digits {part['seen_classes']} only, ranking all {part['n_unseen']} images of "
                      f"{part['unseen_classes']} (MAP@R and precision@1, leave-one-out)."),
            Table(["metric", "MAP@R", "P@1", "fit (s)"], [[name, f"{row['map_at_r']:.4f}", f"{row['precision_at_1']:.4f}",
                                                          f"{row['fit_seconds']:.1f}" if "fit_seconds" in row else "-"]
                                                         for name, row in part["metrics"].items()]),
            *([Paragraph(f"Note: {part['note']}.")] if part.get("note") else []),
        ]
    return [Section(titled("Demo", path), [
        *blocks, *images(path.parent, [("projection.png", "test set before and after learning"), ("unseen_classes.png", "unseen classes"),
                                      ("objective.png", "LMNN objective")]),
    ])]


BUILDERS = {
    "lmnn": _lmnn,
    "lmnn-mnist-select": _lmnn_select,
    "demo": _demo,
    "lmnn-fit": _lmnn_fit,
    "lmnn-evaluate": _lmnn_evaluate,
}
