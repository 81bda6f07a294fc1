"""Short seeded runs of every path, through the CLI, whose figures a restructuring must leave unchanged.

    python scripts/check_figures.py --out before.json            # on the old code
    python scripts/check_figures.py --out after.json --compare before.json

Each run uses 2 threads (the figures are only reproducible at a fixed thread count) and writes into a temporary
folder; the JSON holds the figures each run prints, to full precision. ``--compare`` exits 1 naming every figure that
differs. Needs the shared datasets (MNIST, ORL, Market-1501 subset, Omniglot).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

COMMON = ["--threads", "2", "-q", "--json"]


def _run(*args: str) -> dict:
    done = subprocess.run([sys.executable, "-m", "metrickit", *args, *COMMON], capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"metrickit {' '.join(args)} failed: {done.stderr.strip().splitlines()[-1:]}")
    return json.loads(done.stdout)


def _lmnn(tmp: Path) -> dict[str, float]:
    out = {}
    for data in ("iris", "wine"):
        r = _run("lmnn", "fit", "--data", data, "--standardize")
        out.update({f"lmnn {data} objective": r["objective"], f"lmnn {data} error": r["lmnn_error"]})
    return out


def _demo(tmp: Path) -> dict[str, float]:
    r = _run("demo", "--out", str(tmp / "demo"))
    out = {f"demo {k}": v for k, v in r.items() if isinstance(v, float) and "seconds" not in k}
    out.update({f"demo unseen {name} MAP@R": row["map_at_r"] for name, row in r["unseen_classes"]["metrics"].items()})
    return out


def _mnist(tmp: Path) -> dict[str, float]:
    r = _run("train", "--dataset", "mnist", "--train-classes", "0,1,2,3,4", "--test-classes", "5,6,7,8,9", "--n-val-classes", "0",
             "--architecture", "conv4", "--embedding-dim", "64", "--normalize", "--loss", "triplet", "--miner", "semihard", "--margin", "0.2",
             "--n-classes-per-batch", "5", "--n-per-class", "32", "--epochs", "2", "--batches-per-epoch", "30", "--out", str(tmp / "mnist"))
    out = {f"mnist triplet {k}": r["test"][k] for k in ("map_at_r", "precision_at_1", "r_precision")}
    out.update({f"mnist triplet loss epoch {h['epoch']}": h["loss"] for h in r["history"]})
    return out


def _orl(tmp: Path) -> dict[str, float]:
    _run("verify", "train", "--dataset", "orl", "--method", "triplet", "--folds", "0", "--epochs", "3", "--no-final", "--out", str(tmp / "orl"))
    r = _run("verify", "eval", "--model", str(tmp / "orl"))
    report = r["methods"]["orl"]["repeats"][0]["report"]
    return {f"orl fold 0 triplet {k}": report[k] for k in ("roc_auc", "eer", "accuracy")}


def _reid(tmp: Path) -> dict[str, float]:
    _run("reid", "train", "--method", "triplet", "--seeds", "0", "--epochs", "3", "--no-final", "--out", str(tmp / "reid"))
    r = _run("reid", "eval", "--model", str(tmp / "reid"))
    seed = r["methods"]["reid"]["repeats"][0]["plain"]
    return {f"reid seed 0 triplet {k}": seed[k] for k in ("mean_ap", "rank1")}


def _fewshot(tmp: Path) -> dict[str, float]:
    out = {}
    for method in ("protonet", "softmax", "triplet"):
        _run("fewshot", "train", "--method", method, "--n-way", "20", "--n-shot", "1", "--n-query", "5", "--episodes-per-epoch", "15",
             "--epochs", "2", "--val-n-way", "5", "--val-episodes", "40", "--out", str(tmp / f"fs-{method}"))
        r = _run("fewshot", "eval", "--model", str(tmp / f"fs-{method}" / "model.safetensors"), "--settings", "5x1,20x1", "--episodes", "100")
        for row in next(iter(r["methods"].values()))["results"]:
            out[f"fewshot {method} {row['n_way']}-way {row['n_shot']}-shot"] = row["accuracy"]
    return out


GROUPS = {"lmnn": _lmnn, "demo": _demo, "mnist": _mnist, "orl": _orl, "reid": _reid, "fewshot": _fewshot}


def figures(tmp: Path, groups: list[str]) -> dict[str, float]:
    out: dict[str, float] = {}
    for group in groups:
        out.update(GROUPS[group](tmp))
    return out


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", required=True)
    parser.add_argument("--compare", default=None, help="a JSON written by an earlier run")
    parser.add_argument("--only", default=",".join(GROUPS), help=f"comma-separated groups to run, of {', '.join(GROUPS)} (default: all)")
    args = parser.parse_args(argv)
    groups = [g.strip() for g in args.only.split(",") if g.strip()]
    unknown = sorted(set(groups) - set(GROUPS))
    if unknown:
        parser.error(f"--only: unknown group(s) {', '.join(unknown)}; expected some of {', '.join(GROUPS)}")
    with tempfile.TemporaryDirectory() as tmp:
        found = figures(Path(tmp), groups)
    Path(args.out).write_text(json.dumps(found, indent=1) + "\n")
    print(f"{len(found)} figures written to {args.out}")
    if args.compare:
        before = json.loads(Path(args.compare).read_text())
        if set(groups) != set(GROUPS):  # compare only the groups that ran
            before = {k: v for k, v in before.items() if k.split()[0] in groups}  # figure names start with their group
        changed = [f"{k}: {before.get(k)} -> {found.get(k)}" for k in sorted(set(before) | set(found)) if before.get(k) != found.get(k)]
        print("\n".join(changed) or "every figure unchanged")
        return 1 if changed else 0
    return 0


if __name__ == "__main__":
    sys.exit(main())
