"""``metrickit verify train|eval|predict``: same or different, on identities never seen in training (the torch extra)."""

from __future__ import annotations

import argparse
from pathlib import Path

from metrickit.cli._options import (BUDGET_SETTINGS, LOSS_FLAGS, add_common, add_output, add_repeat_evaluation, add_repeat_training, add_settings, class_list, emit, named_models,
                                    objective_settings, repeats_note, settings_from_args)
from metrickit.runs import RESULTS
from metrickit.signatures import SIGNATURE_METHODS
from metrickit.lfw.config import LFW_METHODS, LfwConfig
from metrickit.verification.config import METHODS, VerifyConfig

__all__ = ["eval_command", "predict_command", "register", "train_command"]

LFW_ONLY = [m for m in LFW_METHODS if m not in METHODS]
TRAIN_SETTINGS = [
    ("method", dict(flag=LOSS_FLAGS, choices=(*METHODS, *SIGNATURE_METHODS, *LFW_ONLY), metavar="METHOD",
                    help=f"{', '.join(METHODS)}: a method without training, or a loss; with --dataset lfw also {', '.join(LFW_ONLY)} "
                         f"(not lmnn); with --dataset svc2004-online (pen trajectories): {', '.join(SIGNATURE_METHODS)}")),
    *[(name, {**spec, "given_only": True, "help": f"{spec.get('help', name.replace('_', ' '))} (default: {VerifyConfig().flat()[name]}; "
                                                  f"lfw {LfwConfig().flat()[name]})"}) for name, spec in BUDGET_SETTINGS],
    ("seed", dict(type=int)), *objective_settings(),
]
LFW_SETTINGS = [  # given only with --dataset lfw; unset, LfwConfig's defaults (chosen on View 1)
    ("setting", dict(choices=("restricted", "unrestricted"), help="image-restricted (pair labels only) or unrestricted (identities)")),
    ("crop", dict(type=int, metavar="PIXELS", help="side of the square cut around the face's centre (of 250)")),
    ("size", dict(type=int, metavar="PIXELS", help="side the crop is resized to")),
    ("min_images", dict(type=int, metavar="N", help="unrestricted: train on the people with at least N images")),
    ("pca_dim", dict(type=int, metavar="D", help="pca and hog-* methods: PCA dimensions")),
    ("cell", dict(type=int, metavar="PIXELS", help="hog-* methods: HOG cell side")),
    ("orientations", dict(type=int, metavar="BINS", help="hog-* methods: HOG orientation bins")),
    ("target_neighbors", dict(type=int, metavar="K", help="hog-lmnn: LMNN's target neighbours")),
]


def register(groups) -> None:
    verify = groups.add_parser("verify", help="verification on unseen identities (faces, signatures): train, eval, predict",
                               description="Face (AT&T/ORL) and signature (SVC2004) verification: a distance and a calibrated threshold.")
    verbs = verify.add_subparsers(dest="verb", metavar="VERB")
    train = verbs.add_parser("train", help="train one method on every cross-identity fold", description=(
        "Cross-identity folds (ORL: 6 folds of 5 subjects; SVC2004: 3 folds of 10 users). In each fold the method learns "
        "on the training identities minus 5 validation identities; the threshold is the EER threshold of the validation "
        "pairs. Test identities are not touched. Methods: euclidean (pixels), lmnn (PCA + LMNN, PCA size chosen on "
        "validation), softmax (classifier embedding), contrastive (Siamese), triplet (semi-hard) or any other loss (ArcFace, CosFace, "
        "Proxy-Anchor, ...: --loss); the deep ones are conv-4. "
        "After the folds, the final model (the one to use: `verify predict --model DIR`) trains the same way on every "
        "identity but 5 seeded validation identities, which choose its epoch or PCA size and set its threshold. "
        "Writes fold<k>/model.safetensors and final/model.safetensors (with preprocessing, threshold and the identities "
        "they trained and validated on) and results.json. "
        "svc2004-online (SVC2004 Task 2 pen trajectories, users 1-30) follows the competition's protocol: 3 folds of 10 "
        "writers, each trained on 15 writers with 5 validation writers choosing the setting and the threshold; methods dtw "
        "(no training), dtw-lmnn (DTW with a local Mahalanobis cost learned by LMNN), embedder (1-D conv, contrastive or "
        "triplet); test folds scored by per-user EER against skilled and random forgeries over 10 seeded trials."))
    train.add_argument("--dataset", required=True, choices=("orl", "svc2004", "svc2004-online", "lfw"),
                       help="orl, svc2004 or lfw (images), svc2004-online (pen trajectories)")
    train.add_argument("--folds", type=class_list, metavar="K,K,..", help="only these folds (default: all; LFW's are numbered 1-10)")
    add_repeat_training(train, VerifyConfig, TRAIN_SETTINGS, train_command, "fold")
    lfw = train.add_argument_group("LFW (--dataset lfw)")
    lfw.add_argument("--view", type=int, choices=(1, 2), default=2,
                     help="1: development (train on pairsDevTrain, score pairsDevTest every epoch); 2: the 10-fold report")
    add_settings(lfw, LfwConfig, LFW_SETTINGS, given_only=True)

    evaluate = verbs.add_parser("eval", help="score trained folds on their unseen test identities", description=(
        "Pen-trajectory models (svc2004-online) are re-scored by SVC2004's protocol on their own test writers. Otherwise: "
        "all genuine and all impostor pairs of each fold's test identities (signatures: genuine-genuine vs "
        "genuine-skilled forgery, plus the SVC2004 per-user EER against skilled and random forgeries), scored at each "
        "fold's calibrated threshold: ROC AUC, EER, accuracy, TAR at FAR 1%% / 0.1%% where there are enough impostor "
        "pairs; mean ± sd over folds. --out writes results.json, roc.png and distances.png."))
    add_repeat_evaluation(evaluate, "verify train", "fold", "results.json, roc.png and distances.png", eval_command)

    predict = verbs.add_parser("predict", help="same or different: two images, a CSV of pairs, or signature trajectories", description=(
        "Read images with the model's stored preprocessing, embed them, and compare each pair's distance with the "
        "model's calibrated threshold. --model takes a `verify train` folder (its final model) or a model file. "
        "With a pen-trajectory model: --enrol the writer's reference signatures (.TXT or .csv, at least 2) and --probe "
        "the signatures to check; each probe's score (least distance to the references over their mutual distance) is "
        "compared with the threshold: genuine or forgery."))
    predict.add_argument("images", nargs="*", metavar="IMAGE", help="two image files")
    predict.add_argument("--enrol", nargs="+", metavar="TRAJECTORY", help="enrolment signatures (pen-trajectory models)")
    predict.add_argument("--probe", nargs="+", metavar="TRAJECTORY", help="signatures to verify against --enrol")
    predict.add_argument("--model", required=True, metavar="RUN|MODEL.safetensors", help="a `verify train` folder or a model file")
    predict.add_argument("--pairs", metavar="CSV", help="rows 'first,second' of image paths (instead of two images)")
    add_output(predict, "CSV", "first,second,distance,same here")
    add_common(predict)
    predict.set_defaults(handler=predict_command)


def train_command(args: argparse.Namespace) -> int:
    from metrickit.verification.run import run_verify_training

    given_lfw = [f"--{name.replace('_', '-')}" for name, _ in LFW_SETTINGS if getattr(args, name) is not None] + (["--view"] * (args.view != 2))
    if args.dataset == "lfw":
        from metrickit.lfw.run import run_lfw_training

        config = LfwConfig.from_flat({k: v for k, v in settings_from_args(args, LfwConfig).items() if v is not None})
        results = run_lfw_training(config, args.out, view=args.view, folds=args.folds, final=args.final, data_dir=args.data_dir,
                                   overwrite=args.overwrite, quiet=args.quiet)
        part = "view" if args.view == 1 else "fold"
        emit(args, results, path=Path(args.out) / RESULTS, notes=[repeats_note(results, part, args.out)])
        return 0
    if given_lfw:
        raise ValueError(f"{', '.join(given_lfw)} apply to --dataset lfw only.")
    if args.method in LFW_ONLY:
        raise ValueError(f"--method {args.method} is an LFW method (--dataset lfw).")
    if (args.dataset == "svc2004-online") != (args.method in SIGNATURE_METHODS):
        raise ValueError(f"--dataset svc2004-online takes --method {' | '.join(SIGNATURE_METHODS)}, and those methods need it; got "
                         f"--dataset {args.dataset} --method {args.method}.")
    if args.dataset == "svc2004-online":
        from metrickit.signatures.run import run_signature_training

        results = run_signature_training(args.method, args.out, folds=args.folds, final=args.final, data_dir=args.data_dir,
                                         seed=args.seed if args.seed is not None else 0, overwrite=args.overwrite, quiet=args.quiet)
        emit(args, results, path=Path(args.out) / RESULTS, notes=[repeats_note(results, "fold", args.out)])
        return 0
    config = VerifyConfig.from_flat(settings_from_args(args, VerifyConfig))
    results = run_verify_training(args.dataset, config, args.out, folds=args.folds, final=args.final, data_dir=args.data_dir,
                                  overwrite=args.overwrite, quiet=args.quiet)
    emit(args, results, path=Path(args.out) / RESULTS, notes=[repeats_note(results, "fold", args.out)])
    return 0


def eval_command(args: argparse.Namespace) -> int:
    from metrickit.verification.run import evaluate_verify_runs

    if _signature_runs(args.model):
        from metrickit._io import write_json_atomic
        from metrickit.signatures.run import evaluate_signature_runs

        results = evaluate_signature_runs([run.split("=", 1)[-1] for run in args.model], data_dir=args.data_dir)
        if args.out:
            write_json_atomic(Path(args.out) / RESULTS, results, overwrite=args.overwrite)
        emit(args, results, path=Path(args.out) / RESULTS if args.out else None)
        return 0
    if _lfw_runs(args.model):
        from metrickit.lfw.run import evaluate_lfw_runs

        results = evaluate_lfw_runs(named_models(args.model), data_dir=args.data_dir, out_dir=args.out, overwrite=args.overwrite)
        emit(args, results, path=Path(args.out) / RESULTS if args.out else None, notes=[f"wrote {', '.join(results['files'])} to {args.out}"] if args.out else [])
        return 0
    results = evaluate_verify_runs(named_models(args.model), data_dir=args.data_dir, out_dir=args.out, overwrite=args.overwrite)
    emit(args, results, path=Path(args.out) / RESULTS if args.out else None,
         notes=[f"wrote {', '.join(results['files'])} to {args.out}"] if args.out else [])
    return 0


def _first_models(runs) -> list[Path]:
    """The first model file of each --model argument (a model file, a run's first fold or view model, or its final model)."""
    from metrickit.runs import MODEL, final_model

    firsts = []
    for run in runs:
        path = Path(str(run).split("=", 1)[-1])
        files = ([path] if path.is_file() else sorted(path.glob(f"fold*/{MODEL}")) or sorted(path.glob(f"view*/{MODEL}"))
                 or ([final_model(path)] if (path / "final").is_dir() else []))
        firsts += files[:1]
    return firsts


def _signature_runs(runs) -> bool:
    """Whether the --model arguments are pen-trajectory models (their first model file says so)."""
    from metrickit.signatures.model import is_signature_model

    return any(is_signature_model(file) for file in _first_models(runs))


def _lfw_runs(runs) -> bool:
    """Whether the --model arguments were trained by the LFW protocol (their first model file says so)."""
    from metrickit.models.base import load_model

    return any(file.suffix == ".safetensors" and load_model(file).info.get("dataset") == "lfw" for file in _first_models(runs))


def predict_command(args: argparse.Namespace) -> int:
    from metrickit.verification.predict import predict

    if args.enrol or args.probe or _signature_runs([args.model]):
        from metrickit.signatures.run import predict_signatures

        if not (args.enrol and args.probe) or args.images or args.pairs:
            raise ValueError("a pen-trajectory model takes --enrol REFERENCE... and --probe SIGNATURE... (no images or --pairs).")
        results = predict_signatures(args.model, args.enrol, args.probe, out=args.out, overwrite=args.overwrite)
        lines = [f"{row['probe']}: score {row['score']:.3f} vs threshold {row['threshold']:.3f}: {'genuine' if row['genuine'] else 'forgery'}"
                 for row in results["predictions"]]
        emit(args, results, "\n".join(lines))
        return 0
    emit(args, predict(args.model, images=args.images, pairs_file=args.pairs, out=args.out, overwrite=args.overwrite))
    return 0
