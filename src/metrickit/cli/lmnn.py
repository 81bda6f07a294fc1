"""``metrickit lmnn fit|transform|evaluate``: Large Margin Nearest Neighbor (no torch)."""

from __future__ import annotations

import argparse

from metrickit.cli._options import add_common, add_data_dir, add_output, emit

__all__ = ["evaluate_command", "fit_command", "register", "transform_command"]


def register(groups) -> None:
    lmnn = groups.add_parser("lmnn", help="Large Margin Nearest Neighbor: fit, transform, evaluate",
                             description="Large Margin Nearest Neighbor metric learning.")
    verbs = lmnn.add_subparsers(dest="verb", metavar="VERB")
    fit = verbs.add_parser("fit", help="learn a metric and report k-NN error on a held-out split", description=(
        "Fit LMNN on a dataset or your own features, report 3-NN test error with Euclidean and learned distance, "
        "and save the model (.npz, no pickle) with --out."))
    _data_source(fit)
    _lmnn_params(fit)
    add_output(fit, "MODEL.npz", "the fitted model here")
    add_common(fit)
    fit.set_defaults(handler=fit_command)

    transform = verbs.add_parser("transform", help="map features into the learned space", description=(
        "Apply a saved model (its preprocessing, then L) to features and write them as .npy."))
    transform.add_argument("--model", required=True, metavar="MODEL.npz")
    transform.add_argument("--features", required=True, metavar="PATH", help=".npy, .npz or .csv")
    transform.add_argument("--label-column", type=int, default=None, metavar="I", help="CSV column to drop as labels")
    add_output(transform, "OUT.npy", "the mapped features here", required=True)
    add_common(transform)
    transform.set_defaults(handler=transform_command)

    evaluate = verbs.add_parser("evaluate", help="k-NN error of a saved model on labelled data", description=(
        "k-NN test error with the saved model's distance and with Euclidean distance on the same preprocessed features. "
        "The model's training data are the reference set: pass the same data options as for fit."))
    evaluate.add_argument("--model", required=True, metavar="MODEL.npz")
    _data_source(evaluate)
    evaluate.add_argument("--seed", type=int, default=0, help="split seed (must match fit)")
    evaluate.add_argument("--n-neighbors", type=int, default=3, help="k of the k-NN classifier")
    add_common(evaluate)
    evaluate.set_defaults(handler=evaluate_command)


def _data_source(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("data (a bundled/shared dataset or your own files)")
    group.add_argument("--data", choices=("iris", "wine", "digits", "mnist"), help="a bundled dataset, or MNIST from the data dir")
    group.add_argument("--features", metavar="PATH", help="your features: .npy, .npz (X[, y]) or .csv")
    group.add_argument("--labels", metavar="PATH", help="your labels: .npy, .csv or .txt (one per line)")
    group.add_argument("--label-column", type=int, default=None, metavar="I", help="CSV column holding the labels (e.g. -1)")
    add_data_dir(group)
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


def _source(args: argparse.Namespace) -> dict:
    return dict(data=args.data, features=args.features, labels=args.labels, label_column=args.label_column, data_dir=args.data_dir,
                test_size=args.test_size, n_train=args.n_train, seed=args.seed)


def fit_command(args: argparse.Namespace) -> int:
    from metrickit.linear.workflow import fit_lmnn_on

    results = fit_lmnn_on(_source(args), standardize=args.standardize, pca=args.pca, out=args.out, overwrite=args.overwrite,
                          n_components=args.n_components, n_neighbors=args.n_neighbors, margin=args.margin, push_weight=args.push_weight,
                          init=args.init, solver=args.solver, max_iter=args.max_iter, tol=args.tol, working_memory=args.working_memory,
                          random_state=args.seed, verbose=0 if args.quiet else 1)
    emit(args, results)
    return 0


def transform_command(args: argparse.Namespace) -> int:
    from metrickit.linear.workflow import transform_file

    results = transform_file(args.model, args.features, args.out, label_column=args.label_column, overwrite=args.overwrite)
    emit(args, results, f"wrote {results['n_samples']} x {results['n_components']} embeddings to {args.out}")
    return 0


def evaluate_command(args: argparse.Namespace) -> int:
    from metrickit.linear.workflow import evaluate_lmnn_on

    results = evaluate_lmnn_on(args.model, _source(args), n_neighbors=args.n_neighbors)
    emit(args, results)
    return 0
