"""``metrickit fewshot train|eval|make-runs``: Prototypical Networks and baselines on Omniglot (the torch extra)."""

from __future__ import annotations

import argparse
from pathlib import Path

from metrickit.cli._options import (LOSS_FLAGS, add_common, add_data_dir, add_processes, add_output, add_settings, emit, named_models, objective_settings,
                                    settings_from_args)
from metrickit.fewshot.config import METHODS, FewShotConfig
from metrickit.runs import RESULTS

__all__ = ["eval_command", "make_runs_command", "register", "train_command"]

TRAIN_SETTINGS = [
    ("loss", dict(flag=LOSS_FLAGS, choices=METHODS, metavar="LOSS", help=f"{', '.join(METHODS)}")),
    ("n_way", dict(type=int)),
    ("n_shot", dict(type=int)),
    ("n_query", dict(type=int)),
    ("batches_per_epoch", dict(flag="--episodes-per-epoch", type=int)),
    ("epochs", dict(type=int)),
    ("lr_halve_every", dict(type=int)),
    ("val_n_way", dict(type=int)),
    ("val_n_shot", dict(type=int)),
    ("val_n_query", dict(type=int)),
    ("val_episodes", dict(type=int)),
    ("seed", dict(type=int)),
    ("learning_rate", dict(type=float, help="Adam's, halved every --lr-halve-every episodes")),
    *objective_settings(),
]


def register(groups) -> None:
    fewshot = groups.add_parser("fewshot", help="few-shot learning on Omniglot: train, eval, make-runs",
                                description="Prototypical Networks on Omniglot (Vinyals splits, 28 x 28, rotations as classes).")
    verbs = fewshot.add_subparsers(dest="verb", metavar="VERB")
    train = verbs.add_parser("train", help="train Prototypical Networks (or a baseline) on Omniglot episodes", description=(
        "Train a conv-4 embedder on N-way K-shot Q-query episodes of an Omniglot split, scoring validation episodes "
        "after every epoch (the best epoch is kept). --method protonet learns from the prototypical loss; the baselines "
        "learn from the same episodes' images: softmax (a classifier over the training classes, used as a feature "
        "extractor) and triplet (semi-hard, L2-normalised). Vinyals' protocol: train on 'train' (validated on val.txt), "
        "then on 'trainval' (no validation: it contains every val.txt class) for the selected number of epochs "
        "(results.json: best_epoch). Lake's protocol, --split background: one command selects the number of epochs on "
        "--n-val-alphabets seeded background alphabets held out of training (in --out/selection), then trains on all "
        "964 images_background characters for that many epochs; its models may be scored on one-shot runs from any "
        "evaluation alphabet. Writes model.safetensors (listing its training and validation characters), "
        "checkpoint.safetensors, results.json, training_curve.png."))
    add_output(train, "DIR", "the model, checkpoint, results and curve", required=True)
    train.add_argument("--resume", action="store_true", help="continue exactly from --out/checkpoint.safetensors")
    train.add_argument("--split", default="train", choices=("train", "trainval", "background"),
                       help="Vinyals' train.txt or trainval.txt, or Lake's images_background")
    train.add_argument("--val-split", default="auto", choices=("auto", "val", "alphabets", "none"),
                       help="what chooses the epoch: auto = val for train, alphabets for background, none for trainval")
    train.add_argument("--n-val-alphabets", type=int, default=5, help="background alphabets held out for --val-split alphabets")
    add_data_dir(train)
    add_settings(train, FewShotConfig, TRAIN_SETTINGS)
    add_processes(train)
    add_common(train)
    train.set_defaults(handler=train_command, config_class=FewShotConfig)

    evaluate = verbs.add_parser("eval", help="accuracy ± 95%% CI of models side by side on seeded test episodes", description=(
        "Embed the test split once per model and score every model on the same seeded episodes (one file per N-way "
        "K-shot setting, 15 queries per class by default). --model euclidean ranks raw pixels; repeat --model (optionally "
        "NAME=PATH) to compare methods. --out writes results.json, accuracy.png and the episode files. A model that "
        "trained or validated on a character of the scored split is refused."))
    evaluate.add_argument("--model", required=True, action="append", metavar="[NAME=]MODEL",
                          help="a saved model (.safetensors or .npz) or 'euclidean'; repeat to compare")
    evaluate.add_argument("--runs", metavar="DIR", help="score one-shot runs in the official layout (runNN/...) instead of episodes; "
                          "a model that trained or validated on the runs' characters is refused")
    evaluate.add_argument("--settings", default="5x1,5x5,20x1,20x5", help="N-way x K-shot list")
    evaluate.add_argument("--episodes", type=int, default=1000)
    evaluate.add_argument("--n-query", type=int, default=15)
    evaluate.add_argument("--seed", type=int, default=0, help="episode seed (the same file for every method)")
    evaluate.add_argument("--split", default="test", choices=("test", "val"))
    add_data_dir(evaluate)
    add_output(evaluate, "DIR", "results.json, accuracy.png and the episode files")
    add_common(evaluate)
    evaluate.set_defaults(handler=eval_command)

    runs = verbs.add_parser("make-runs", help="build within-alphabet one-shot runs from images_evaluation.zip", description=(
        "Write 20-way one-shot runs in the official Omniglot layout (runNN/training, runNN/test, runNN/class_labels.txt), "
        "each inside one alphabet of the evaluation archive, for `metrickit fewshot eval --runs`. Runs use only "
        "characters that the --model files never trained or validated on (Vinyals' train.txt holds characters of 8 "
        "evaluation alphabets); manifest.json lists every run's characters and drawings."))
    runs.add_argument("--model", action="append", default=[], metavar="MODEL",
                      help="a model to be scored on the runs: its training and validation characters are left out; repeat for several")
    add_output(runs, "DIR", "the runs", required=True)
    runs.add_argument("--n-runs", type=int, default=20)
    runs.add_argument("--seed", type=int, default=0)
    add_data_dir(runs)
    add_common(runs)
    runs.set_defaults(handler=make_runs_command)


def train_command(args: argparse.Namespace) -> int:
    from metrickit.fewshot.run import run_fewshot_training

    config = FewShotConfig.from_flat(settings_from_args(args, FewShotConfig))
    results = run_fewshot_training(config, args.out, split=args.split, val_split=args.val_split, n_val_alphabets=args.n_val_alphabets,
                                   data_dir=args.data_dir, resume=args.resume, overwrite=args.overwrite, quiet=args.quiet)
    emit(args, results, path=Path(args.out) / RESULTS, notes=[f"wrote {', '.join(results['files'])} to {args.out}"])
    return 0


def eval_command(args: argparse.Namespace) -> int:
    from metrickit.fewshot.run import evaluate_fewshot, parse_settings

    models = named_models(args.model)
    if args.runs:
        from metrickit.fewshot.oneshot import score_runs

        if len(models) != 1:
            raise ValueError("--runs scores one --model at a time.")
        emit(args, score_runs(args.runs, next(iter(models.values())), data_dir=args.data_dir))
        return 0
    results = evaluate_fewshot(models, settings=parse_settings(args.settings), n_query=args.n_query, n_episodes=args.episodes,
                               seed=args.seed, split=args.split, data_dir=args.data_dir, out_dir=args.out, overwrite=args.overwrite)
    emit(args, results, path=Path(args.out) / RESULTS if args.out else None,
         notes=[f"wrote {', '.join(results['files'])} to {args.out}"] if args.out else [])
    return 0


def make_runs_command(args: argparse.Namespace) -> int:
    from metrickit.fewshot.oneshot import make_runs_for_models

    results = make_runs_for_models(args.model, args.out, n_runs=args.n_runs, seed=args.seed, data_dir=args.data_dir,
                                   overwrite=args.overwrite)
    emit(args, results, f"wrote {args.n_runs} within-alphabet 20-way one-shot runs to {args.out}, drawn from {len(results['alphabets'])} "
                        "alphabets" + (f" (leaving out the {results['n_excluded_characters']} characters the models trained or validated on)"
                                       if args.model else ""))
    return 0
