"""``metrickit demo``: the main job."""

from __future__ import annotations

import argparse

from metrickit.cli._options import add_common, add_output, emit

__all__ = ["demo_command", "register"]


def register(groups) -> None:
    demo = groups.add_parser("demo", help="LMNN vs Euclidean on digits, then transfer to unseen digits (about 10 s)", description=(
        "The main job: scikit-learn's digits, stratified 70/30 split, 3-NN test error with Euclidean distance and with "
        "the learned LMNN metric; then LMNN and a semi-hard triplet embedder learned on digits 0-5 rank the unseen 6-9 "
        "(MAP@R) next to Euclidean. Writes results.json, projection.png, objective.png, unseen_classes.png and model.npz."))
    add_output(demo, "DIR", "results.json and the plots", default_help="runs/demo-<timestamp>")
    demo.add_argument("--quick", action="store_true", help="cap LMNN at 30 iterations and the embedder at 2 epochs (smoke test)")
    demo.add_argument("--seed", type=int, default=0, help="split and init seed")
    add_common(demo)
    demo.set_defaults(handler=demo_command)


def demo_command(args: argparse.Namespace) -> int:
    from pathlib import Path

    from metrickit.demo import run_demo
    from metrickit.runs import RESULTS, timestamp

    out = Path(args.out) if args.out else Path("runs") / f"demo-{timestamp()}"
    results = run_demo(out, quick=args.quick, seed=args.seed, overwrite=args.overwrite, verbose=0 if args.quiet else 1)
    emit(args, results, path=out / RESULTS, notes=[f"wrote {', '.join(results['files'])} to {out}"])
    return 0
