"""``metrickit train``, ``evaluate`` and ``embed``: deep embedders (the torch extra)."""

from __future__ import annotations

import argparse
from pathlib import Path

from metrickit.runs import RESULTS
from metrickit.cli._options import (DATA_DIR_HELP, add_common, add_data_dir, add_processes, add_output, add_settings, class_list, emit, objective_settings,
                                    settings_from_args)
from metrickit.training.config import ARCHITECTURES, DEEP_LOSSES, TrainConfig

__all__ = ["embed_command", "evaluate_command", "register", "train_command"]

TRAIN_SETTINGS = [
    ("dataset", dict(help="mnist, digits, a class-per-folder image dir, or a labelled .npz/.csv")),
    ("data_dir", dict(metavar="DIR", help=DATA_DIR_HELP)),
    ("image_size", dict(type=int, help="resize folder images to this square side (default: their own size)")),
    ("labels", dict(metavar="PATH", help="labels file for .npy/.csv features (.npy, .csv or .txt)")),
    ("label_column", dict(type=int, metavar="I", help="CSV column holding the labels (e.g. -1)")),
    ("train_classes", dict(type=class_list, metavar="A,B,..",
                           help="training classes, others unseen (default: mnist 0-4, digits 0-5, else the first 60%% of the classes)")),
    ("test_classes", dict(type=class_list, metavar="A,B,..", help="unseen test classes (default: the classes not trained on)")),
    ("n_val_classes", dict(type=int, help="training classes held out for validation (0 or >= 2)")),
    ("architecture", dict(choices=ARCHITECTURES)),
    ("embedding_dim", dict(type=int)),
    ("normalize", dict(action=argparse.BooleanOptionalAction,
                       help="L2-normalise embeddings (default: the loss's convention, off for softmax, on for the rest)")),
    ("loss", dict(choices=DEEP_LOSSES)),
    *objective_settings(),
    ("n_classes_per_batch", dict(type=int, metavar="P")),
    ("n_per_class", dict(type=int, metavar="K")),
    ("batches_per_epoch", dict(type=int)),
    ("epochs", dict(type=int)),
    ("optimizer", dict(choices=("adam", "sgd"))),
    ("learning_rate", dict(type=float)),
    ("seed", dict(type=int)),
    ("device", dict(choices=("cpu", "cuda", "auto"))),
]


def register(groups) -> None:
    train = groups.add_parser("train", help="train a deep embedder (Siamese/triplet/contrastive/softmax)", description=(
        "Train an embedding network with a metric loss on class-balanced P x K batches, validating each epoch on "
        "classes held out of the training classes and testing once on unseen classes. Settings come from --config "
        "(YAML, flat or in sections) with the flags below on top. Writes model.safetensors, checkpoint.safetensors, "
        "results.json and training_curve.png into --out."))
    train.add_argument("--config", metavar="YAML", help="settings file (keys as the flags, with underscores)")
    add_output(train, "DIR", "the model, checkpoint, results and curve (new or empty, unless --overwrite/--resume)", required=True)
    train.add_argument("--resume", action="store_true", help="continue from --out/checkpoint.safetensors (exactly)")
    add_settings(train.add_argument_group("settings (override --config)"), TrainConfig, TRAIN_SETTINGS, given_only=True)
    add_processes(train)
    add_common(train)
    train.set_defaults(handler=train_command, config_class=TrainConfig, given_only=True)

    evaluate = groups.add_parser("evaluate", help="retrieval metrics (P@1, R-precision, MAP@R, kNN) of a saved model", description=(
        "Rank every sample of the chosen classes against the others (leave-one-out) with a saved model's distance, "
        "or Euclidean distance on the inputs with --model euclidean."))
    evaluate.add_argument("--model", required=True, metavar="MODEL",
                          help="a saved model (.safetensors from training, .npz from `lmnn fit`, or a run folder's final model), "
                               "or 'euclidean'")
    evaluate.add_argument("--dataset", required=True, help="mnist, digits, an image folder, or a labelled .npz/.csv")
    evaluate.add_argument("--split", default="test", choices=("train", "test"))
    evaluate.add_argument("--classes", type=class_list, metavar="A,B,..", help="only these classes (default: all)")
    add_data_dir(evaluate)
    evaluate.add_argument("--image-size", type=int, help="resize folder images to this square side (default: their own size)")
    evaluate.add_argument("--labels", metavar="PATH", help="labels file for .npy/.csv features")
    evaluate.add_argument("--label-column", type=int, metavar="I", help="CSV column holding the labels")
    evaluate.add_argument("--n-neighbors", type=int, default=5, help="k of the kNN accuracy")
    evaluate.add_argument("--backend", default="auto", choices=("auto", "exact", "faiss"))
    add_common(evaluate)
    evaluate.set_defaults(handler=evaluate_command)

    embed = groups.add_parser("embed", help="embed images (a folder or one file) or a features file with a saved model", description=(
        "Write the embeddings of every image under PATH (flat, or in sub-folders), of one image file, or of a features "
        "file (.npy, .npz, .csv) to an .npz with arrays embeddings, ids and labels (for images in sub-folders: the "
        "first --label-depth folders below PATH, so PATH/user12/genuine/x.png is user12)."))
    embed.add_argument("path", metavar="PATH", help="a folder of images, an image file, or a features file")
    embed.add_argument("--label-depth", type=int, default=None, metavar="D",
                       help="label images by the first D folders below PATH; 0: no labels (default: 1 when every image is in a "
                            "sub-folder, else no labels)")
    embed.add_argument("--model", required=True, metavar="MODEL",
                       help="a saved model (.safetensors, .npz from `lmnn fit`, or a run folder's final model)")
    add_output(embed, "OUT.npz", "the embeddings, ids and labels here", required=True)
    add_common(embed)
    embed.set_defaults(handler=embed_command)


def train_command(args: argparse.Namespace) -> int:
    from metrickit.training.config import load_config
    from metrickit.training.run import run_training

    config = load_config(args.config, **settings_from_args(args, TrainConfig, given_only=True))
    results = run_training(config, args.out, resume=args.resume, overwrite=args.overwrite, quiet=args.quiet)
    emit(args, results, path=Path(args.out) / RESULTS, notes=[f"wrote {', '.join(results['files'])} to {args.out}"])
    return 0


def evaluate_command(args: argparse.Namespace) -> int:
    from metrickit.evaluation.models import evaluate_model

    model = None if args.model == "euclidean" else args.model
    results = evaluate_model(model, args.dataset, split=args.split, classes=args.classes, data_dir=args.data_dir,
                             image_size=args.image_size, labels=args.labels, label_column=args.label_column,
                             n_neighbors=args.n_neighbors, backend=args.backend)
    emit(args, results)
    return 0


def embed_command(args: argparse.Namespace) -> int:
    from metrickit.evaluation.models import embed_to_file

    results = embed_to_file(args.path, args.model, args.out, label_depth=args.label_depth, overwrite=args.overwrite)
    emit(args, results, f"wrote {results['n']} embeddings of dimension {results['embedding_dim']} ({', '.join(results['arrays'])}) to {args.out}")
    return 0
