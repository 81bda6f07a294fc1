"""The command bodies: each parses nothing, calls a public function and prints its result."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

from metrickit.cli.app import timestamp

__all__ = [
    "demo_command",
    "embed_command",
    "evaluate_command",
    "fewshot_eval_command",
    "fewshot_make_runs_command",
    "fewshot_train_command",
    "verify_eval_command",
    "verify_predict_command",
    "verify_train_command",
    "lmnn_evaluate_command",
    "lmnn_fit_command",
    "lmnn_transform_command",
    "reid_eval_command",
    "report_command",
    "reid_train_command",
    "train_command",
]


def _emit(args: argparse.Namespace, results: dict, text: str) -> None:
    if args.json:
        json.dump(results, sys.stdout, indent=2, default=str)
        sys.stdout.write("\n")
    else:
        print(text)


def demo_command(args: argparse.Namespace) -> int:
    from metrickit.demo import format_table, run_demo

    out = Path(args.out) if args.out else Path("runs") / f"demo-{timestamp()}"
    results = run_demo(out, quick=args.quick, seed=args.seed, overwrite=args.overwrite, verbose=0 if args.quiet else 1, threads=args.threads)
    _emit(args, results, format_table(results) + f"\nwrote {', '.join(results['files'])} to {out}")
    return 0


def _split(args: argparse.Namespace):
    from metrickit.datasets import load_split

    return load_split(
        data=args.data,
        features=args.features,
        labels=args.labels,
        label_column=args.label_column,
        data_dir=args.data_dir,
        test_size=getattr(args, "test_size", 0.3),
        n_train=getattr(args, "n_train", None),
        seed=args.seed,
    )


def _error_lines(results: dict) -> list[str]:
    if "euclidean_error" not in results:
        return []
    k = results["eval_neighbors"]
    return [
        f"{k}-NN test error: Euclidean {results['euclidean_error']:.2%}, learned {results['lmnn_error']:.2%} "
        f"({results['n_train']} train / {results['n_test']} test)"
    ]


def lmnn_fit_command(args: argparse.Namespace) -> int:
    from metrickit._io import check_can_write
    from metrickit.linear.io import save_model
    from metrickit.linear.workflow import fit_lmnn_model, fit_preprocessor

    if args.out:
        check_can_write(args.out, overwrite=args.overwrite)  # fail before a long fit, not after
    split = _split(args)
    prep = fit_preprocessor(split.X_train, standardize=args.standardize, pca=args.pca)
    model, results = fit_lmnn_model(
        split.X_train,
        split.y_train,
        X_test=split.X_test,
        y_test=split.y_test,
        preprocessor=prep,
        n_components=args.n_components,
        n_neighbors=args.n_neighbors,
        margin=args.margin,
        push_weight=args.push_weight,
        init=args.init,
        solver=args.solver,
        max_iter=args.max_iter,
        tol=args.tol,
        working_memory=args.working_memory,
        random_state=args.seed,
        verbose=0 if args.quiet else 1,
    )
    results["data"] = split.info
    model.metadata["data"] = split.info
    model.metadata["preprocessing"] = {"standardize": args.standardize, "pca": args.pca}
    if args.out:
        save_model(model, args.out, overwrite=args.overwrite)
        results["model"] = str(args.out)
    lines = [
        f"LMNN on {split.info['dataset']}: objective {results['objective']:.6g}, {results['n_iter']} iterations, "
        f"{'converged' if results['converged'] else 'NOT converged'}, {results['fit_seconds']:.1f} s",
        *_error_lines(results),
    ]
    if args.out:
        lines.append(f"saved {args.out}")
    _emit(args, results, "\n".join(lines))
    return 0


def lmnn_transform_command(args: argparse.Namespace) -> int:
    from metrickit._io import atomic_path, check_can_write
    from metrickit.datasets import load_features
    from metrickit.linear.io import load_model

    check_can_write(args.out, overwrite=args.overwrite)
    model = load_model(args.model)
    X, _ = load_features(args.features, label_column=args.label_column)
    Z = model.transform(X)
    with atomic_path(args.out, overwrite=args.overwrite) as tmp:
        with open(tmp, "wb") as fh:
            np.save(fh, Z)
    results = {"model": args.model, "n_samples": int(Z.shape[0]), "n_components": int(Z.shape[1]), "out": args.out}
    _emit(args, results, f"wrote {Z.shape[0]} x {Z.shape[1]} embeddings to {args.out}")
    return 0


def lmnn_evaluate_command(args: argparse.Namespace) -> int:
    from metrickit.linear.io import load_model
    from metrickit.linear.workflow import knn_error

    model = load_model(args.model)
    split = _split(args)
    if split.X_test is None:
        raise ValueError("evaluate needs a held-out part: use --test-size > 0 (MNIST uses its test set).")
    P_train, P_test = model.preprocess(split.X_train), model.preprocess(split.X_test)
    L = model.components
    results = {
        "model": args.model,
        "data": split.info,
        "n_train": int(len(P_train)),
        "n_test": int(len(P_test)),
        "eval_neighbors": args.n_neighbors,
        "euclidean_error": knn_error(P_train, split.y_train, P_test, split.y_test, args.n_neighbors),
        "lmnn_error": knn_error(P_train @ L.T, split.y_train, P_test @ L.T, split.y_test, args.n_neighbors),
    }
    _emit(args, results, "\n".join(_error_lines(results)))
    return 0


_TRAIN_SETTINGS = (
    "dataset", "data_dir", "image_size", "labels", "label_column", "train_classes", "test_classes", "n_val_classes", "architecture", "embedding_dim",
    "normalize", "loss", "miner", "margin", "n_classes_per_batch", "n_per_class", "batches_per_epoch", "epochs",
    "optimizer", "learning_rate", "seed", "device", "threads",
)


def train_command(args: argparse.Namespace) -> int:
    from metrickit.training.config import load_config
    from metrickit.training.run import run_training

    config = load_config(args.config, **{name: getattr(args, name) for name in _TRAIN_SETTINGS})
    results = run_training(config, args.out, resume=args.resume, overwrite=args.overwrite, quiet=args.quiet)
    test = results["test"]
    text = (
        f"trained {config.architecture} ({config.loss}, miner {config.miner}) on classes {results['classes']['fit']}, "
        f"best epoch {results['best_epoch']} of {config.epochs} (validation classes {results['classes']['validation']})\n"
        f"unseen test classes {results['classes']['test']}: MAP@R {test['map_at_r']:.4f}, precision@1 {test['precision_at_1']:.4f}, "
        f"R-precision {test['r_precision']:.4f}, {test['n_neighbors']}-NN accuracy {test['knn_accuracy']:.4f}\n"
        f"wrote {', '.join(results['files'])} to {args.out}"
    )
    _emit(args, results, text)
    return 0


def evaluate_command(args: argparse.Namespace) -> int:
    from metrickit.evaluation.models import evaluate_model

    model = None if args.model == "euclidean" else args.model
    results = evaluate_model(model, args.dataset, split=args.split, classes=args.classes, data_dir=args.data_dir,
                             image_size=args.image_size, labels=args.labels, label_column=args.label_column,
                             n_neighbors=args.n_neighbors, backend=args.backend)
    rows = [("precision@1", "precision_at_1"), ("R-precision", "r_precision"), ("MAP@R", "map_at_r"),
            (f"{results['n_neighbors']}-NN accuracy", "knn_accuracy")]
    lines = [f"{results['model']} on {args.dataset} ({args.split}), classes {results['classes']}"]
    if results["classes_seen_in_training"]:
        lines.append(f"note: classes {results['classes_seen_in_training']} were seen in training")
    lines += [f"  {name:<16} {results[key]:.4f}" for name, key in rows]
    lines.append(f"  {results['n_queries']} queries ({results['n_skipped']} skipped: no other sample of their class), backend {results['backend']}")
    _emit(args, results, "\n".join(lines))
    return 0


def embed_command(args: argparse.Namespace) -> int:
    from metrickit._io import atomic_path, check_can_write
    from metrickit.evaluation.models import embed_path

    check_can_write(args.out, overwrite=args.overwrite)
    arrays = embed_path(args.path, args.model, label_depth=args.label_depth)
    with atomic_path(args.out, overwrite=args.overwrite) as tmp:
        with open(tmp, "wb") as fh:
            np.savez(fh, **arrays)
    results = {"out": args.out, "n": len(arrays["embeddings"]), "embedding_dim": int(arrays["embeddings"].shape[1]), "arrays": sorted(arrays)}
    _emit(args, results, f"wrote {results['n']} embeddings of dimension {results['embedding_dim']} ({', '.join(results['arrays'])}) to {args.out}")
    return 0


def fewshot_train_command(args: argparse.Namespace) -> int:
    from metrickit.fewshot.run import run_fewshot_training
    from metrickit.fewshot.train import FewShotConfig

    config = FewShotConfig(method=args.method, n_way=args.n_way, n_shot=args.n_shot, n_query=args.n_query,
                           episodes_per_epoch=args.episodes_per_epoch, epochs=args.epochs, learning_rate=args.learning_rate,
                           margin=args.margin, lr_halve_every=args.lr_halve_every, val_n_way=args.val_n_way, val_n_shot=args.val_n_shot,
                           val_n_query=args.val_n_query, val_episodes=args.val_episodes, seed=args.seed, threads=args.threads)
    results = run_fewshot_training(config, args.out, split=args.split, val_split=args.val_split, n_val_alphabets=args.n_val_alphabets,
                                   data_dir=args.data_dir, resume=args.resume, overwrite=args.overwrite, quiet=args.quiet)
    selection = results.get("selection", results)
    best = selection["history"][selection["best_epoch"] - 1]
    val = (f"; best validation {config.val_n_way}-way {config.val_n_shot}-shot {best['val_accuracy']:.2%} at epoch {selection['best_epoch']} "
           f"({selection['selected_episodes']} episodes)" if best.get("val_accuracy") is not None else "")
    final = (f"\nfinal run on all {results['n_train_classes']} classes ({args.split}) for {results['config']['epochs']} x "
             f"{config.episodes_per_epoch} episodes in {results['train_seconds']:.0f} s" if "selection" in results else "")
    _emit(args, results, f"{config.method}: trained on {selection['n_train_classes']} classes ({args.split}"
                         f"{' minus the held-out alphabets' if final else ''}) for {selection['config']['epochs']} x "
                         f"{config.episodes_per_epoch} episodes in {selection['train_seconds']:.0f} s{val}{final}\n"
                         f"wrote {', '.join(results['files'])} to {args.out}")
    return 0


def _named_models(values: list[str]) -> dict[str, str | None]:
    """``--model`` values (``[NAME=]PATH`` or 'euclidean') as name -> path (None: Euclidean on pixels); an unnamed
    path is named after its folder (a run folder, or the folder holding the model file)."""
    models: dict[str, str | None] = {}
    for value in values:
        name, _, path = value.partition("=") if "=" in value else ("", "", value)
        path = None if path == "euclidean" else path
        if not name:
            name = "euclidean (pixels)" if path is None else (Path(path).name if Path(path).is_dir() else Path(path).parent.name or Path(path).stem)
        if name in models:
            raise ValueError(f"two --model values are both named {name!r}; name them with NAME=PATH.")
        models[name] = path
    return models


def fewshot_eval_command(args: argparse.Namespace) -> int:
    from metrickit.fewshot.run import evaluate_fewshot, parse_settings

    models = _named_models(args.model)
    if args.runs:
        from metrickit.fewshot.oneshot import evaluate_runs

        if len(models) != 1:
            raise ValueError("--runs scores one --model at a time.")
        results = evaluate_runs(args.runs, next(iter(models.values())), data_dir=args.data_dir)
        lines = [f"{results['model']} on {len(results['runs'])} one-shot runs in {args.runs}"]
        lines += [f"  {name}: error {error:.1%}" for name, error in zip(results["runs"], results["errors"])]
        lines.append(f"  mean error {results['mean_error']:.2%}")
        _emit(args, results, "\n".join(lines))
        return 0

    results = evaluate_fewshot(models, settings=parse_settings(args.settings), n_query=args.n_query, n_episodes=args.episodes,
                               seed=args.seed, split=args.split, data_dir=args.data_dir, out_dir=args.out, overwrite=args.overwrite,
                               threads=args.threads)
    width = max(len(name) for name in results["methods"])
    settings = [f"{e['n_way']}-way {e['n_shot']}-shot" for e in results["episodes"]]
    lines = [f"Omniglot {args.split} ({results['n_classes']} classes), {args.episodes} episodes per setting (seed {args.seed}), "
             f"{args.n_query} queries per class", " " * width + "  " + "  ".join(f"{s:>17}" for s in settings)]
    for name, entry in results["methods"].items():
        lines.append(f"{name:<{width}}  " + "  ".join(f"{r['accuracy']:>9.2%} ± {r['ci95']:.2%}" for r in entry["results"]))
    if args.out:
        lines.append(f"wrote {', '.join(results['files'])} to {args.out}")
    _emit(args, results, "\n".join(lines))
    return 0


def fewshot_make_runs_command(args: argparse.Namespace) -> int:
    from metrickit.datasets.paths import dataset_dir
    from metrickit.fewshot.oneshot import make_runs

    from metrickit._io import file_sha256
    from metrickit.fewshot.oneshot import model_characters
    from metrickit.models.artifact import load_deep_model

    excluded: set[str] = set()
    for path in args.model:
        excluded |= model_characters(load_deep_model(path).info, args.data_dir)
    models = [{"path": str(path), "sha256": file_sha256(path)} for path in args.model]
    out = make_runs(dataset_dir("omniglot", args.data_dir) / "images_evaluation.zip", args.out, n_runs=args.n_runs, seed=args.seed,
                    exclude=excluded, excluded_models=models)
    manifest = json.loads((out / "manifest.json").read_text())
    _emit(args, {"out": str(out), "n_runs": args.n_runs, "alphabets": manifest["alphabets"], "n_excluded_characters": len(excluded)},
          f"wrote {args.n_runs} within-alphabet 20-way one-shot runs to {out}, drawn from {len(manifest['alphabets'])} alphabets"
          + (f" (leaving out the {len(excluded)} characters the models trained or validated on)" if args.model else ""))
    return 0


def verify_train_command(args: argparse.Namespace) -> int:
    from metrickit.verification.run import run_verify_training
    from metrickit.verification.train import VerifyConfig

    config = VerifyConfig(method=args.method, epochs=args.epochs, batches_per_epoch=args.batches_per_epoch,
                          n_classes_per_batch=args.n_classes_per_batch, n_per_class=args.n_per_class, embedding_dim=args.embedding_dim,
                          learning_rate=args.learning_rate, margin=args.margin, seed=args.seed, threads=args.threads)
    results = run_verify_training(args.dataset, config, args.out, folds=args.folds, final=args.final, data_dir=args.data_dir,
                                  overwrite=args.overwrite, quiet=args.quiet)
    lines = [f"{args.method} on {args.dataset}: {len(results['folds'])} fold(s) in {results['train_seconds']:.0f} s"]
    describe = lambda r: f"validation ROC AUC {r['val']['roc_auc']:.4f}, EER {r['val']['eer']:.2%}, threshold {r['threshold']:.4g}"  # noqa: E731
    lines += [f"  fold {r['fold']['index']}: {describe(r)}" for r in results["folds"]]
    if "final" in results:
        final = results["final"]
        lines.append(f"  final model ({len(final['fold']['fit'])} training, {len(final['fold']['val'])} validation identities): {describe(final)}")
    lines.append(f"wrote fold<k>/model.safetensors{', final/model.safetensors' if 'final' in results else ''} and results.json to {args.out}")
    _emit(args, results, "\n".join(lines))
    return 0


def verify_eval_command(args: argparse.Namespace) -> int:
    from metrickit.verification.run import evaluate_runs

    results = evaluate_runs(_named_models(args.model), data_dir=args.data_dir, out_dir=args.out, overwrite=args.overwrite)
    fmt = lambda s, pct=True: "-" if s is None else (f"{s['mean']:.2%} ± {s['sd']:.2%}" if pct else f"{s['mean']:.4f} ± {s['sd']:.4f}")  # noqa: E731
    lines = [f"{results['dataset']}: test identities unseen in training (mean ± sd over folds)"]
    for name, entry in results["methods"].items():
        s = entry["summary"]
        line = (f"  {name}: ROC AUC {fmt(s['roc_auc'], False)}, EER {fmt(s['eer'])}, accuracy {fmt(s['accuracy'])}, "
                f"TAR@FAR=1% {fmt(s['tar_at_far'].get('1%'))}")
        if s.get("user_eer_skilled"):
            line += f", per-user EER skilled {fmt(s['user_eer_skilled'])} / random {fmt(s['user_eer_random'])}"
        lines.append(line)
    if args.out:
        lines.append(f"wrote {', '.join(results['files'])} to {args.out}")
    _emit(args, results, "\n".join(lines))
    return 0


def verify_predict_command(args: argparse.Namespace) -> int:
    from metrickit.verification.predict import predict_pairs, read_pairs

    if args.pairs and args.images:
        raise ValueError("give either two images or --pairs CSV, not both.")
    if not args.pairs and len(args.images) != 2:
        raise ValueError(f"give two images to compare (or --pairs CSV); got {len(args.images)}.")
    if args.out:
        from metrickit._io import check_can_write

        check_can_write(args.out, overwrite=args.overwrite)
    from metrickit.training.run import final_model

    rows = predict_pairs(final_model(args.model), read_pairs(args.pairs) if args.pairs else [tuple(args.images)])
    if args.out:
        import csv

        from metrickit._io import atomic_path

        with atomic_path(args.out, overwrite=args.overwrite) as tmp:
            with open(tmp, "w", newline="") as fh:
                writer = csv.DictWriter(fh, fieldnames=["first", "second", "distance", "same"])
                writer.writeheader()
                writer.writerows(rows)
    text = "\n".join(f"{'same' if r['same'] else 'different'}  distance {r['distance']:.4g}  {r['first']}  {r['second']}" for r in rows[:20])
    if len(rows) > 20:
        text += f"\n... {len(rows) - 20} more"
    if args.out:
        text += f"\nwrote {len(rows)} rows to {args.out}"
    _emit(args, {"pairs": rows, "out": args.out}, text)
    return 0


def reid_train_command(args: argparse.Namespace) -> int:
    from metrickit.reid.run import run_reid_training
    from metrickit.reid.train import ReidConfig

    config = ReidConfig(method=args.method, epochs=args.epochs, batches_per_epoch=args.batches_per_epoch,
                        n_classes_per_batch=args.n_classes_per_batch, n_per_class=args.n_per_class, embedding_dim=args.embedding_dim,
                        learning_rate=args.learning_rate, margin=args.margin, n_test=args.n_test, n_val=args.n_val, threads=args.threads)
    results = run_reid_training(config, args.out, seeds=args.seeds, final=args.final, data_dir=args.data_dir, overwrite=args.overwrite,
                                quiet=args.quiet)
    lines = [f"{args.method} on the Market-1501 subset: {len(results['seeds'])} seed(s) in {results['train_seconds']:.0f} s"]
    lines += [f"  seed {r['split']['seed']}: validation mAP {r['val_map']:.2%}" for r in results["seeds"]]
    if "final" in results:
        final = results["final"]
        lines.append(f"  final model ({len(final['split']['fit'])} training, {len(final['split']['val'])} validation persons): "
                     f"validation mAP {final['val_map']:.2%}")
    lines.append(f"wrote seed<k>/model.safetensors{', final/model.safetensors' if 'final' in results else ''} and results.json to {args.out}")
    _emit(args, results, "\n".join(lines))
    return 0


def reid_eval_command(args: argparse.Namespace) -> int:
    from metrickit.reid.run import evaluate_reid_runs

    results = evaluate_reid_runs(_named_models(args.model), rerank=args.rerank, ap=args.ap, data_dir=args.data_dir, out_dir=args.out,
                                 overwrite=args.overwrite)
    fmt = lambda s: f"{s['mean']:.2%} ± {s['sd']:.2%}"  # noqa: E731
    lines = [f"Market-1501 subset: unseen test persons (mean ± sd over seeds; AP in the {results['ap_rule']} form)"]
    for name, entry in results["methods"].items():
        for kind, summary in entry["summary"].items():
            label = name + (" (re-ranked)" if kind == "reranked" else "")
            lines.append(f"  {label}: mAP {fmt(summary['mean_ap'])}, rank-1 {fmt(summary['rank1'])}, rank-5 {fmt(summary['rank5'])}, "
                         f"rank-10 {fmt(summary['rank10'])}")
    if args.out:
        lines.append(f"wrote {', '.join(results['files'])} to {args.out}")
    _emit(args, results, "\n".join(lines))
    return 0


def report_command(args: argparse.Namespace) -> int:
    from metrickit.reporting import build_report, write_report

    document = build_report(args.paths, title=args.title)
    files = write_report(document, args.out, overwrite=args.overwrite)
    results = {"out": args.out, "sections": [s.title for s in document.sections], "files": [str(f) for f in files]}
    _emit(args, results, f"{len(document.sections)} sections, {len(files) - 2} images: wrote report.md and report.html to {args.out}")
    return 0
