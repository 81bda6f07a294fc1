"""``metrickit reid train|eval``: person re-identification on the Market-1501 subset (the torch extra)."""

from __future__ import annotations

import argparse
from pathlib import Path

from metrickit.cli._options import (BUDGET_SETTINGS, LOSS_FLAGS, add_repeat_evaluation, add_repeat_training, class_list, emit, named_models,
                                    objective_settings, repeats_note, settings_from_args)
from metrickit.evaluation.reid import AP_RULES
from metrickit.reid.config import METHODS, ReidConfig
from metrickit.runs import RESULTS

__all__ = ["eval_command", "register", "train_command"]

TRAIN_SETTINGS = [
    ("method", dict(flag=LOSS_FLAGS, choices=METHODS, metavar="METHOD", help=f"{', '.join(METHODS)}: a method without training, or a loss")), *BUDGET_SETTINGS, ("n_test", dict(type=int)), ("n_val", dict(type=int)),
    *objective_settings(ReidConfig.LOSS_DEFAULTS),
]


def register(groups) -> None:
    reid = groups.add_parser("reid", help="person re-identification (Market-1501 protocol): train, eval",
                             description="Query against gallery across cameras, ranked by a learned distance: CMC and mAP.")
    verbs = reid.add_subparsers(dest="verb", metavar="VERB")
    train = verbs.add_parser("train", help="train one method on every person split", description=(
        "For each seed, split the 100 persons of the Market-1501 subset into 50 unseen test persons, 10 validation "
        "persons (epoch or PCA size chosen by their mAP) and 40 training persons. Methods: euclidean (pixels), lmnn "
        "(stripe colour histograms, PCA, LMNN), softmax (classifier embedding), triplet (batch-hard) or any other loss (--loss); the deep ones are "
        "conv-4 on 128 x 64 images with horizontal flips and P x K person batches. After the seeds, the final model (the "
        "one to use) trains the same way on every person but --n-val seeded validation persons. Writes "
        "seed<k>/model.safetensors, final/model.safetensors (each listing the persons it trained and validated on) "
        "and results.json."))
    train.add_argument("--seeds", type=class_list, default=[0, 1, 2, 3, 4], metavar="S,S,..", help="one person split per seed")
    add_repeat_training(train, ReidConfig, TRAIN_SETTINGS, train_command, "seed")

    evaluate = verbs.add_parser("eval", help="CMC and mAP on the unseen test persons", description=(
        "Queries: one image per (person, camera) of the test persons, the lowest frame; gallery: all their images. "
        "Gallery images of the query's person from the query's camera, and of identity -1 (junk), are ignored. Reports mAP "
        "and rank-1/5/10, mean ± sd over seeds; --ap picks the AP form (torchreid: mean precision at each hit; market1501: "
        "Market-1501's own trapezoid rule, never higher); --rerank adds k-reciprocal re-ranking (Zhong et al. 2017). "
        "--out writes results.json and cmc.png."))
    evaluate.add_argument("--rerank", action="store_true", help="also score with k-reciprocal re-ranking (k1=20, k2=6, lambda=0.3)")
    evaluate.add_argument("--ap", default="torchreid", choices=AP_RULES, help="AP form behind mAP")
    add_repeat_evaluation(evaluate, "reid train", "seed", "results.json and cmc.png", eval_command)


def train_command(args: argparse.Namespace) -> int:
    from metrickit.reid.run import run_reid_training

    config = ReidConfig.from_flat(settings_from_args(args, ReidConfig))
    results = run_reid_training(config, args.out, seeds=args.seeds, final=args.final, data_dir=args.data_dir, overwrite=args.overwrite,
                                quiet=args.quiet)
    emit(args, results, path=Path(args.out) / RESULTS, notes=[repeats_note(results, "seed", args.out)])
    return 0


def eval_command(args: argparse.Namespace) -> int:
    from metrickit.reid.run import evaluate_reid_runs

    results = evaluate_reid_runs(named_models(args.model), rerank=args.rerank, ap=args.ap, data_dir=args.data_dir, out_dir=args.out,
                                 overwrite=args.overwrite)
    emit(args, results, path=Path(args.out) / RESULTS if args.out else None,
         notes=[f"wrote {', '.join(results['files'])} to {args.out}"] if args.out else [])
    return 0
