"""Argument parsing for ``metrickit``. Only the standard library is imported here, so ``--help`` is fast;
each command imports what it needs when it runs."""

from __future__ import annotations

import argparse
import sys
import time
from typing import Callable, Sequence

__all__ = ["build_parser", "main"]

PROG = "metrickit"


DATA_DIR_HELP = ("root of the shared datasets (default: $METRICKIT_DATA, else shared/data beside the repository holding the "
                 "current folder, else ../shared/data beside the installed package's checkout)")


def _data_dir(parser) -> None:
    parser.add_argument("--data-dir", metavar="DIR", help=DATA_DIR_HELP)


def _show_defaults(parser: argparse.ArgumentParser) -> None:
    """Append ``(default: X)`` to the help of every option that takes a value and whose help does not state its
    default yet, in ``parser`` and all its subcommands; ``--help`` then shows every default."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub in dict.fromkeys(action.choices.values()):
                _show_defaults(sub)
        elif action.option_strings and action.nargs != 0 and not action.required and "default" not in (action.help or ""):
            value = action.default
            value = "none" if value is None else ",".join(map(str, value)) if isinstance(value, (list, tuple)) else value
            action.help = f"{action.help} (default: {value})" if action.help else f"(default: {value})"


def _config_defaults(group) -> None:
    """State :class:`~metrickit.training.config.TrainConfig`'s defaults in the help of the ``train`` settings, whose
    parser defaults stay None so that a --config file's values hold unless a flag is given."""
    from dataclasses import MISSING, fields

    from metrickit.training.config import TrainConfig

    defaults = {f.name: f.default for f in fields(TrainConfig) if f.default is not MISSING and f.default is not None}
    for action in group._group_actions:
        if action.dest in defaults and "default" not in (action.help or ""):
            value = defaults[action.dest]
            action.help = f"{action.help} (default: {value})" if action.help else f"(default: {value})"


def _common(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("common options")
    group.add_argument("--threads", type=int, default=None, metavar="N", help="limit BLAS/torch threads to N (default: all cores)")
    group.add_argument("-q", "--quiet", action="store_true", help="no progress bars")
    group.add_argument("--json", action="store_true", help="print results as JSON on stdout")
    group.add_argument("--debug", action="store_true", help="show the full traceback on errors")


def _data_source(parser: argparse.ArgumentParser, *, with_split: bool = True) -> None:
    group = parser.add_argument_group("data (a bundled/shared dataset or your own files)")
    group.add_argument("--data", choices=("iris", "wine", "digits", "mnist"), help="a bundled dataset, or MNIST from the data dir")
    group.add_argument("--features", metavar="PATH", help="your features: .npy, .npz (X[, y]) or .csv")
    group.add_argument("--labels", metavar="PATH", help="your labels: .npy, .csv or .txt (one per line)")
    group.add_argument("--label-column", type=int, default=None, metavar="I", help="CSV column holding the labels (e.g. -1)")
    _data_dir(group)
    if with_split:
        group.add_argument("--test-size", type=float, default=0.3, help="held-out fraction, stratified (0 = fit on all). MNIST uses its official test set")
        group.add_argument("--n-train", type=int, default=None, metavar="N", help="use a stratified subsample of N training points (default: all)")
    group.add_argument("--standardize", action="store_true", help="scale features to zero mean and unit variance (fitted on the training part)")
    group.add_argument("--pca", type=int, default=None, metavar="K", help="project on K principal axes fitted on the training part (default: no PCA)")


def _lmnn_params(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("LMNN")
    group.add_argument("--n-components", type=int, default=None, help="output dimension (default: input dimension)")
    group.add_argument("--n-neighbors", type=int, default=3, help="target neighbours per point")
    group.add_argument("--margin", type=float, default=1.0, help="margin in squared distance")
    group.add_argument("--push-weight", type=float, default=0.5, help="weight mu of the impostor term")
    group.add_argument("--init", default="auto", choices=("auto", "identity", "pca", "lda", "random"))
    group.add_argument("--solver", default="auto", choices=("auto", "lbfgs", "sdp"))
    group.add_argument("--max-iter", type=int, default=1000, help="total L-BFGS iterations")
    group.add_argument("--tol", type=float, default=1e-3, help="relative change of the exact objective to stop")
    group.add_argument("--working-memory", type=float, default=None, metavar="MIB", help="memory budget of the blockwise searches (default: scikit-learn's working_memory)")
    group.add_argument("--seed", type=int, default=0, help="random seed for the split and init")


def build_parser() -> argparse.ArgumentParser:
    """The full parser: ``metrickit demo``, ``metrickit lmnn {fit,transform,evaluate}``, ``train``, ``evaluate``, ``embed``."""
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Learn distance functions from data. Commands follow `metrickit GROUP VERB`.",
        epilog="Run `metrickit demo` for the main job; `metrickit GROUP VERB --help` for each command.",
    )
    parser.add_argument("--version", action="store_true", help="print the version and exit")
    groups = parser.add_subparsers(dest="group", metavar="COMMAND")

    demo = groups.add_parser("demo", help="LMNN vs Euclidean on digits, then transfer to unseen digits (about 10 s)", description=(
        "The main job: scikit-learn's digits, stratified 70/30 split, 3-NN test error with Euclidean distance and with "
        "the learned LMNN metric; then LMNN and a semi-hard triplet embedder learned on digits 0-5 rank the unseen 6-9 "
        "(MAP@R) next to Euclidean. Writes results.json, projection.png, objective.png, unseen_classes.png and model.npz."))
    demo.add_argument("--out", default=None, metavar="DIR", help="output folder (default runs/demo-<timestamp>)")
    demo.add_argument("--overwrite", action="store_true", help="allow writing into an existing, non-empty --out")
    demo.add_argument("--quick", action="store_true", help="cap LMNN at 30 iterations and the embedder at 2 epochs (smoke test)")
    demo.add_argument("--seed", type=int, default=0, help="split and init seed")
    _common(demo)
    demo.set_defaults(handler="metrickit.cli.commands:demo_command")

    lmnn = groups.add_parser("lmnn", help="Large Margin Nearest Neighbor: fit, transform, evaluate",
                             description="Large Margin Nearest Neighbor metric learning.")
    verbs = lmnn.add_subparsers(dest="verb", metavar="VERB")
    fit = verbs.add_parser("fit", help="learn a metric and report k-NN error on a held-out split", description=(
        "Fit LMNN on a dataset or your own features, report 3-NN test error with Euclidean and learned distance, "
        "and save the model (.npz, no pickle) with --out."))
    _data_source(fit)
    _lmnn_params(fit)
    fit.add_argument("--out", metavar="MODEL.npz", help="save the fitted model here")
    fit.add_argument("--overwrite", action="store_true", help="replace an existing --out file")
    _common(fit)
    fit.set_defaults(handler="metrickit.cli.commands:lmnn_fit_command")

    transform = verbs.add_parser("transform", help="map features into the learned space", description=(
        "Apply a saved model (its preprocessing, then L) to features and write them as .npy."))
    transform.add_argument("--model", required=True, metavar="MODEL.npz")
    transform.add_argument("--features", required=True, metavar="PATH", help=".npy, .npz or .csv")
    transform.add_argument("--label-column", type=int, default=None, metavar="I", help="CSV column to drop as labels")
    transform.add_argument("--out", required=True, metavar="OUT.npy")
    transform.add_argument("--overwrite", action="store_true", help="replace an existing --out file")
    _common(transform)
    transform.set_defaults(handler="metrickit.cli.commands:lmnn_transform_command")

    evaluate = verbs.add_parser("evaluate", help="k-NN error of a saved model on labelled data", description=(
        "k-NN test error with the saved model's distance and with Euclidean distance on the same preprocessed features. "
        "The model's training data are the reference set: pass the same data options as for fit."))
    evaluate.add_argument("--model", required=True, metavar="MODEL.npz")
    _data_source(evaluate)
    evaluate.add_argument("--seed", type=int, default=0, help="split seed (must match fit)")
    evaluate.add_argument("--n-neighbors", type=int, default=3, help="k of the k-NN classifier")
    _common(evaluate)
    evaluate.set_defaults(handler="metrickit.cli.commands:lmnn_evaluate_command")
    _deep_commands(groups)
    _fewshot_commands(groups)
    _verify_commands(groups)
    _reid_commands(groups)
    report = groups.add_parser("report", help="one Markdown + HTML report of result files", description=(
        "Gather the result files under PATH (benchmark JSONs from bench/results, and the results.json that metrickit "
        "commands write: demo, training runs, fewshot eval, verify eval, reid eval) into report.md and report.html, with "
        "their tables and PNGs (ROC, CMC, embedding projections, training curves) copied into DIR/images."))
    report.add_argument("paths", nargs="+", metavar="PATH", help="result files, or folders searched for them")
    report.add_argument("--out", required=True, metavar="DIR")
    report.add_argument("--title", default="metrickit report")
    report.add_argument("--overwrite", action="store_true", help="allow writing into an existing, non-empty --out")
    _common(report)
    report.set_defaults(handler="metrickit.cli.commands:report_command")
    _show_defaults(parser)
    return parser


def _fewshot_commands(groups) -> None:
    """``metrickit fewshot train|eval|make-runs``: Prototypical Networks and baselines on Omniglot (the torch extra)."""
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
    train.add_argument("--out", required=True, metavar="DIR")
    train.add_argument("--overwrite", action="store_true")
    train.add_argument("--resume", action="store_true", help="continue exactly from --out/checkpoint.safetensors")
    train.add_argument("--method", default="protonet", choices=("protonet", "softmax", "triplet"))
    train.add_argument("--split", default="train", choices=("train", "trainval", "background"),
                       help="Vinyals' train.txt or trainval.txt, or Lake's images_background")
    train.add_argument("--val-split", default="auto", choices=("auto", "val", "alphabets", "none"),
                       help="what chooses the epoch: auto = val for train, alphabets for background, none for trainval")
    train.add_argument("--n-val-alphabets", type=int, default=5, help="background alphabets held out for --val-split alphabets")
    _data_dir(train)
    for name, default in (("n-way", 60), ("n-shot", 5), ("n-query", 5), ("episodes-per-epoch", 100), ("epochs", 10),
                          ("lr-halve-every", 2000), ("val-n-way", 5), ("val-n-shot", 1), ("val-n-query", 15), ("val-episodes", 200),
                          ("seed", 0)):
        train.add_argument(f"--{name}", type=int, default=default)
    train.add_argument("--learning-rate", type=float, default=1e-3, help="Adam's, halved every --lr-halve-every episodes")
    train.add_argument("--margin", type=float, default=0.2, help="triplet margin on squared distances (--method triplet)")
    _common(train)
    train.set_defaults(handler="metrickit.cli.commands:fewshot_train_command")
    evaluate = verbs.add_parser("eval", help="accuracy ± 95%% CI of models side by side on seeded test episodes", description=(
        "Embed the test split once per model and score every model on the same seeded episodes (one file per N-way "
        "K-shot setting, 15 queries per class by default). --model euclidean ranks raw pixels; repeat --model (optionally "
        "NAME=PATH) to compare methods. --out writes results.json, accuracy.png and the episode files."))
    evaluate.add_argument("--model", required=True, action="append", metavar="[NAME=]MODEL",
                          help="a saved model (.safetensors) or 'euclidean'; repeat to compare")
    evaluate.add_argument("--runs", metavar="DIR", help="score one-shot runs in the official layout (runNN/...) instead of episodes; "
                          "a model that trained or validated on the runs' characters is refused")
    evaluate.add_argument("--settings", default="5x1,5x5,20x1,20x5", help="N-way x K-shot list")
    evaluate.add_argument("--episodes", type=int, default=1000)
    evaluate.add_argument("--n-query", type=int, default=15)
    evaluate.add_argument("--seed", type=int, default=0, help="episode seed (the same file for every method)")
    evaluate.add_argument("--split", default="test", choices=("test", "val"))
    _data_dir(evaluate)
    evaluate.add_argument("--out", metavar="DIR", help="write results.json, accuracy.png and the episode files here")
    evaluate.add_argument("--overwrite", action="store_true", help="allow writing into an existing, non-empty --out")
    _common(evaluate)
    evaluate.set_defaults(handler="metrickit.cli.commands:fewshot_eval_command")
    runs = verbs.add_parser("make-runs", help="build within-alphabet one-shot runs from images_evaluation.zip", description=(
        "Write 20-way one-shot runs in the official Omniglot layout (runNN/training, runNN/test, runNN/class_labels.txt), "
        "each inside one alphabet of the evaluation archive, for `metrickit fewshot eval --runs`. Runs use only "
        "characters that the --model files never trained or validated on (Vinyals' train.txt holds characters of 8 "
        "evaluation alphabets); manifest.json lists every run's characters and drawings."))
    runs.add_argument("--model", action="append", default=[], metavar="MODEL",
                      help="a model to be scored on the runs: its training and validation characters are left out; repeat for several")
    runs.add_argument("--out", required=True, metavar="DIR")
    runs.add_argument("--n-runs", type=int, default=20)
    runs.add_argument("--seed", type=int, default=0)
    _data_dir(runs)
    _common(runs)
    runs.set_defaults(handler="metrickit.cli.commands:fewshot_make_runs_command")


def _verify_commands(groups) -> None:
    """``metrickit verify train|eval|predict``: same or different, on identities never seen in training (the torch extra)."""
    verify = groups.add_parser("verify", help="verification on unseen identities (faces, signatures): train, eval, predict",
                               description="Face (AT&T/ORL) and signature (SVC2004) verification: a distance and a calibrated threshold.")
    verbs = verify.add_subparsers(dest="verb", metavar="VERB")
    train = verbs.add_parser("train", help="train one method on every cross-identity fold", description=(
        "Cross-identity folds (ORL: 6 folds of 5 subjects; SVC2004: 3 folds of 10 users). In each fold the method learns "
        "on the training identities minus 5 validation identities; the threshold is the EER threshold of the validation "
        "pairs. Test identities are not touched. Methods: euclidean (pixels), lmnn (PCA + LMNN, PCA size chosen on "
        "validation), softmax (classifier embedding), contrastive (Siamese), triplet (semi-hard); the deep ones are conv-4. "
        "After the folds, the final model (the one to use: `verify predict --model DIR`) trains the same way on every "
        "identity but 5 seeded validation identities, which choose its epoch or PCA size and set its threshold. "
        "Writes fold<k>/model.safetensors and final/model.safetensors (with preprocessing, threshold and the identities "
        "they trained and validated on) and results.json."))
    train.add_argument("--dataset", required=True, choices=("orl", "svc2004"))
    train.add_argument("--method", default="triplet", choices=("euclidean", "lmnn", "softmax", "contrastive", "triplet"))
    train.add_argument("--out", required=True, metavar="DIR")
    train.add_argument("--overwrite", action="store_true")
    train.add_argument("--folds", type=_class_list, metavar="K,K,..", help="only these folds (default: all)")
    train.add_argument("--no-final", dest="final", action="store_false", help="train the folds only, no final model")
    _data_dir(train)
    for name, default in (("epochs", 20), ("batches-per-epoch", 25), ("n-classes-per-batch", 8), ("n-per-class", 4),
                          ("embedding-dim", 128), ("seed", 0)):
        train.add_argument(f"--{name}", type=int, default=default)
    train.add_argument("--learning-rate", type=float, default=1e-3, help="Adam's learning rate")
    train.add_argument("--margin", type=float, default=None, help="(default: contrastive 1.0, triplet 0.2)")
    _common(train)
    train.set_defaults(handler="metrickit.cli.commands:verify_train_command")
    evaluate = verbs.add_parser("eval", help="score trained folds on their unseen test identities", description=(
        "All genuine and all impostor pairs of each fold's test identities (signatures: genuine-genuine vs "
        "genuine-skilled forgery, plus the SVC2004 per-user EER against skilled and random forgeries), scored at each "
        "fold's calibrated threshold: ROC AUC, EER, accuracy, TAR at FAR 1%% / 0.1%% where there are enough impostor "
        "pairs; mean ± sd over folds. --out writes results.json, roc.png and distances.png."))
    evaluate.add_argument("--model", required=True, action="append", metavar="[NAME=]RUN",
                          help="a `verify train` folder (or one fold's model file); repeat to compare methods")
    _data_dir(evaluate)
    evaluate.add_argument("--out", metavar="DIR", help="write results.json, roc.png and distances.png here")
    evaluate.add_argument("--overwrite", action="store_true")
    _common(evaluate)
    evaluate.set_defaults(handler="metrickit.cli.commands:verify_eval_command")
    predict = verbs.add_parser("predict", help="same or different: two images, or a CSV of pairs", description=(
        "Read images with the model's stored preprocessing, embed them, and compare each pair's distance with the "
        "model's calibrated threshold. --model takes a `verify train` folder (its final model) or a model file."))
    predict.add_argument("images", nargs="*", metavar="IMAGE", help="two image files")
    predict.add_argument("--model", required=True, metavar="RUN|MODEL.safetensors", help="a `verify train` folder or a model file")
    predict.add_argument("--pairs", metavar="CSV", help="rows 'first,second' of image paths (instead of two images)")
    predict.add_argument("--out", metavar="CSV", help="write first,second,distance,same here")
    predict.add_argument("--overwrite", action="store_true")
    _common(predict)
    predict.set_defaults(handler="metrickit.cli.commands:verify_predict_command")


def _reid_commands(groups) -> None:
    """``metrickit reid train|eval``: person re-identification on the Market-1501 subset (the torch extra)."""
    reid = groups.add_parser("reid", help="person re-identification (Market-1501 protocol): train, eval",
                             description="Query against gallery across cameras, ranked by a learned distance: CMC and mAP.")
    verbs = reid.add_subparsers(dest="verb", metavar="VERB")
    train = verbs.add_parser("train", help="train one method on every person split", description=(
        "For each seed, split the 100 persons of the Market-1501 subset into 50 unseen test persons, 10 validation "
        "persons (epoch or PCA size chosen by their mAP) and 40 training persons. Methods: euclidean (pixels), lmnn "
        "(stripe colour histograms, PCA, LMNN), softmax (classifier embedding), triplet (batch-hard); the deep ones are "
        "conv-4 on 128 x 64 images with horizontal flips and P x K person batches. After the seeds, the final model (the "
        "one to use) trains the same way on every person but --n-val seeded validation persons. Writes "
        "seed<k>/model.safetensors, final/model.safetensors (each listing the persons it trained and validated on) "
        "and results.json."))
    train.add_argument("--method", default="triplet", choices=("euclidean", "lmnn", "softmax", "triplet"))
    train.add_argument("--out", required=True, metavar="DIR")
    train.add_argument("--overwrite", action="store_true")
    train.add_argument("--seeds", type=_class_list, default=[0, 1, 2, 3, 4], metavar="S,S,..", help="one person split per seed")
    train.add_argument("--no-final", dest="final", action="store_false", help="train the seeds' splits only, no final model")
    _data_dir(train)
    for name, default in (("epochs", 20), ("batches-per-epoch", 20), ("n-classes-per-batch", 8), ("n-per-class", 4),
                          ("embedding-dim", 128), ("n-test", 50), ("n-val", 10)):
        train.add_argument(f"--{name}", type=int, default=default)
    train.add_argument("--learning-rate", type=float, default=1e-3, help="Adam's learning rate")
    train.add_argument("--margin", type=float, default=0.3, help="batch-hard triplet margin")
    _common(train)
    train.set_defaults(handler="metrickit.cli.commands:reid_train_command")
    evaluate = verbs.add_parser("eval", help="CMC and mAP on the unseen test persons", description=(
        "Queries: one image per (person, camera) of the test persons, the lowest frame; gallery: all their images. "
        "Gallery images of the query's person from the query's camera, and of identity -1 (junk), are ignored. Reports mAP "
        "and rank-1/5/10, mean ± sd over seeds; --ap picks the AP form (torchreid: mean precision at each hit; market1501: "
        "Market-1501's own trapezoid rule, never higher); --rerank adds k-reciprocal re-ranking (Zhong et al. 2017). "
        "--out writes results.json and cmc.png."))
    evaluate.add_argument("--model", required=True, action="append", metavar="[NAME=]RUN",
                          help="a `reid train` folder (or one seed's model file); repeat to compare methods")
    evaluate.add_argument("--rerank", action="store_true", help="also score with k-reciprocal re-ranking (k1=20, k2=6, lambda=0.3)")
    evaluate.add_argument("--ap", default="torchreid", choices=("torchreid", "market1501"), help="AP form behind mAP")
    _data_dir(evaluate)
    evaluate.add_argument("--out", metavar="DIR", help="write results.json and cmc.png here")
    evaluate.add_argument("--overwrite", action="store_true")
    _common(evaluate)
    evaluate.set_defaults(handler="metrickit.cli.commands:reid_eval_command")


def _deep_commands(groups) -> None:
    """``metrickit train``, ``metrickit evaluate`` and ``metrickit embed`` (deep embedders; need the torch extra)."""
    train = groups.add_parser("train", help="train a deep embedder (Siamese/triplet/contrastive/softmax)", description=(
        "Train an embedding network with a metric loss on class-balanced P x K batches, validating each epoch on "
        "classes held out of the training classes and testing once on unseen classes. Settings come from --config "
        "(YAML) with the flags below on top. Writes model.safetensors, checkpoint.safetensors, results.json and "
        "training_curve.png into --out."))
    train.add_argument("--config", metavar="YAML", help="settings file (keys as the flags, with underscores)")
    train.add_argument("--out", required=True, metavar="DIR", help="output folder (new or empty, unless --overwrite/--resume)")
    train.add_argument("--overwrite", action="store_true", help="allow writing into an existing, non-empty --out")
    train.add_argument("--resume", action="store_true", help="continue from --out/checkpoint.safetensors (exactly)")
    group = train.add_argument_group("settings (override --config)")
    group.add_argument("--dataset", help="mnist, digits, a class-per-folder image dir, or a labelled .npz/.csv")
    _data_dir(group)
    group.add_argument("--image-size", type=int, help="resize folder images to this square side (default: their own size)")
    group.add_argument("--labels", metavar="PATH", help="labels file for .npy/.csv features (.npy, .csv or .txt)")
    group.add_argument("--label-column", type=int, metavar="I", help="CSV column holding the labels (e.g. -1)")
    group.add_argument("--train-classes", type=_class_list, metavar="A,B,..", help="training classes, others unseen (default: mnist 0-4, digits 0-5, else the first 60%% of the classes)")
    group.add_argument("--test-classes", type=_class_list, metavar="A,B,..", help="unseen test classes (default: the classes not trained on)")
    group.add_argument("--n-val-classes", type=int, help="training classes held out for validation (0 or >= 2; default 2)")
    group.add_argument("--architecture", choices=("mlp", "conv4", "resnet"))
    group.add_argument("--embedding-dim", type=int)
    group.add_argument("--normalize", action="store_true", default=None, help="L2-normalise embeddings")
    group.add_argument("--loss", choices=("triplet", "contrastive", "softmax"))
    group.add_argument("--miner", choices=("all", "hard", "semihard", "semihard-facenet", "random"),
                       help="triplets: all / semihard (band) run fused; hard = batch-hard")
    group.add_argument("--margin", type=float)
    group.add_argument("--n-classes-per-batch", type=int, metavar="P")
    group.add_argument("--n-per-class", type=int, metavar="K")
    group.add_argument("--batches-per-epoch", type=int)
    group.add_argument("--epochs", type=int)
    group.add_argument("--optimizer", choices=("adam", "sgd"))
    group.add_argument("--learning-rate", type=float)
    group.add_argument("--seed", type=int)
    group.add_argument("--device", choices=("cpu", "cuda", "auto"))
    _config_defaults(group)
    _common(train)
    train.set_defaults(handler="metrickit.cli.commands:train_command")

    evaluate = groups.add_parser("evaluate", help="retrieval metrics (P@1, R-precision, MAP@R, kNN) of a deep model", description=(
        "Rank every sample of the chosen classes against the others (leave-one-out) with a saved model's distance, "
        "or Euclidean distance on the inputs with --model euclidean."))
    evaluate.add_argument("--model", required=True, metavar="MODEL.safetensors", help="a saved model, or 'euclidean'")
    evaluate.add_argument("--dataset", required=True, help="mnist, digits, an image folder, or a labelled .npz/.csv")
    evaluate.add_argument("--split", default="test", choices=("train", "test"))
    evaluate.add_argument("--classes", type=_class_list, metavar="A,B,..", help="only these classes (default: all)")
    _data_dir(evaluate)
    evaluate.add_argument("--image-size", type=int, help="resize folder images to this square side (default: their own size)")
    evaluate.add_argument("--labels", metavar="PATH", help="labels file for .npy/.csv features")
    evaluate.add_argument("--label-column", type=int, metavar="I", help="CSV column holding the labels")
    evaluate.add_argument("--n-neighbors", type=int, default=5, help="k of the kNN accuracy")
    evaluate.add_argument("--backend", default="auto", choices=("auto", "exact", "faiss"))
    _common(evaluate)
    evaluate.set_defaults(handler="metrickit.cli.commands:evaluate_command")

    embed = groups.add_parser("embed", help="embed images (a folder or one file) or a features file with a saved model", description=(
        "Write the embeddings of every image under PATH (flat, or in sub-folders), of one image file, or of a features "
        "file (.npy, .npz, .csv) to an .npz with arrays embeddings, ids and labels (for images in sub-folders: the "
        "first --label-depth folders below PATH, so PATH/user12/genuine/x.png is user12)."))
    embed.add_argument("path", metavar="PATH", help="a folder of images, an image file, or a features file")
    embed.add_argument("--label-depth", type=int, default=None, metavar="D",
                       help="label images by the first D folders below PATH; 0: no labels (default: 1 when every image is in a "
                            "sub-folder, else no labels)")
    embed.add_argument("--model", required=True, metavar="MODEL.safetensors")
    embed.add_argument("--out", required=True, metavar="OUT.npz")
    embed.add_argument("--overwrite", action="store_true", help="replace an existing --out file")
    _common(embed)
    embed.set_defaults(handler="metrickit.cli.commands:embed_command")


def _class_list(text: str) -> list:
    """'0,1,2' -> [0, 1, 2]; names stay strings."""
    items = [t.strip() for t in text.split(",") if t.strip()]
    return [int(t) if t.lstrip("-").isdigit() else t for t in items]


def _resolve(handler: str) -> Callable:
    import importlib

    module, name = handler.split(":")
    return getattr(importlib.import_module(module), name)


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; errors print one line to stderr and return 1 (``--debug`` raises instead)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.version:
        from metrickit import __version__

        print(f"{PROG} {__version__}")
        return 0
    handler = getattr(args, "handler", None)
    if handler is None:
        (parser if args.group is None else parser._subparsers._group_actions[0].choices[args.group]).print_help()
        return 2
    try:
        from threadpoolctl import threadpool_limits

        if args.threads is not None and args.threads < 1:
            raise ValueError(f"`--threads` must be >= 1; got {args.threads}.")
        with threadpool_limits(limits=args.threads):
            return int(_resolve(handler)(args) or 0)
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # the one place that turns exceptions into an exit code
        if getattr(args, "debug", False):
            raise
        message = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        print(f"{PROG}: error: {message}", file=sys.stderr)
        return 1


def timestamp() -> str:
    """A sortable local timestamp for default output folders."""
    return time.strftime("%Y%m%d-%H%M%S")
