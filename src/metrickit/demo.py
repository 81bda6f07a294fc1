"""The main job on scikit-learn's digits: LMNN vs Euclidean 3-NN error, then transfer to unseen classes.

Part 1 fits LMNN on a stratified 70/30 split and compares 3-NN test error. Part 2 learns metrics on
digits 0-5 only (LMNN, and a small semi-hard triplet embedder) and ranks the never-seen digits 6-9
(MAP@R, leave-one-out over all their images) next to Euclidean distance: what a learned metric is for.
"""

from __future__ import annotations

import os

from metrickit._provenance import provenance
from metrickit.runs import RESULTS, write_results

__all__ = ["run_demo"]


def run_demo(
    out_dir: str | os.PathLike,
    *,
    quick: bool = False,
    seed: int = 0,
    overwrite: bool = False,
    verbose: int = 1,
) -> dict:
    """Split digits 70/30 (stratified, ``seed``), fit LMNN on the training part, compare 3-NN test error.

    Then learns metrics on digits 0-5 and ranks the unseen 6-9 (see the module docstring). Writes
    ``results.json``, ``projection.png`` (test set in 2-D before and after learning), ``objective.png``,
    ``unseen_classes.png`` and ``model.npz`` into ``out_dir``. ``quick`` caps LMNN at 30 iterations
    and the embedder at 2 epochs (a smoke test).
    """
    from sklearn.decomposition import PCA
    from sklearn.model_selection import train_test_split

    from metrickit.datasets import load_bundled
    from metrickit.linear.io import save_model
    from metrickit.linear.workflow import fit_lmnn_model
    from metrickit.plotting import plot_objective, plot_projections

    from metrickit.runs import check_out_dir

    out = check_out_dir(out_dir, overwrite)
    X, y = load_bundled("digits")
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.3, stratify=y, random_state=seed)
    params = {"n_neighbors": 3, "random_state": seed, "verbose": verbose}
    if quick:
        params.update(max_iter=30)
    model, results = fit_lmnn_model(X_train, y_train, X_test=X_test, y_test=y_test, **params)
    results.update(
        dataset="digits",
        split={"test_size": 0.3, "stratified": True, "seed": seed},
        quick=quick,
        provenance=provenance(),
    )
    out.mkdir(parents=True, exist_ok=True)
    save_model(model, out / "model.npz", overwrite=overwrite)
    pca_before = PCA(n_components=2, random_state=seed).fit(X_train)
    pca_after = PCA(n_components=2, random_state=seed).fit(model.transform(X_train))
    plot_projections(
        [
            (f"Euclidean (PCA), 3-NN error {results['euclidean_error']:.2%}", pca_before.transform(X_test)),
            (f"LMNN (PCA of L x), 3-NN error {results['lmnn_error']:.2%}", pca_after.transform(model.transform(X_test))),
        ],
        y_test,
        out / "projection.png",
        overwrite=overwrite,
    )
    plot_objective(model.metadata["objective_history"], out / "objective.png", overwrite=overwrite)
    results["unseen_classes"] = _unseen_classes(X, y, X_train, y_train, seed=seed, quick=quick, out=out, overwrite=overwrite, verbose=verbose)
    results["files"] = sorted(p.name for p in out.iterdir() if not p.name.startswith("."))
    results = write_results(out / RESULTS, "demo", results)
    results["out_dir"] = str(out)
    return results


SEEN, UNSEEN = [0, 1, 2, 3, 4, 5], [6, 7, 8, 9]


def _unseen_classes(X, y, X_train, y_train, *, seed, quick, out, overwrite, verbose) -> dict:
    """Metrics learned on the training images of 0-5, judged by MAP@R over all images of the unseen 6-9 (the triplet
    embedder only where torch is installed; otherwise a note says how to get it)."""
    import time

    import numpy as np
    from sklearn.decomposition import PCA

    from metrickit.datasets.labeled import LabeledSet, Preprocessing
    from metrickit.evaluation import retrieval_metrics
    from metrickit.linear import LMNN
    from metrickit.plotting import plot_projections
    from metrickit.training.config import TrainConfig

    seen, unseen = np.isin(y_train, SEEN), np.isin(y, UNSEEN)
    began = time.perf_counter()
    lmnn = LMNN(n_neighbors=3, random_state=seed, max_iter=30 if quick else 1000).fit(X_train[seen], y_train[seen])
    lmnn_seconds = time.perf_counter() - began
    embedded = {"Euclidean": X[unseen], "LMNN (0-5)": lmnn.transform(X[unseen])}
    seconds = {"LMNN (0-5)": lmnn_seconds}
    # Settings chosen on validation classes only (three leave-two-classes-out folds of 0-5): bench/deep_demo_select.py.
    config = TrainConfig.from_flat(dataset="digits", architecture="mlp", hidden=[128], embedding_dim=32, loss="triplet", miner="semihard",
                                   margin=1.0, n_val_classes=0, n_classes_per_batch=6, n_per_class=16, epochs=2 if quick else 10,
                                   batches_per_epoch=50, seed=seed)
    note = None
    try:
        from metrickit.training.loop import ClassSplit, train
    except ModuleNotFoundError as error:  # torch (or another part of the torch extra) is not installed
        note = f"the triplet embedder needs the torch extra: pip install 'metrickit[torch]' (missing module {error.name!r})"
    else:
        prep = Preprocessing("image", (1, 8, 8), scale=1 / 16, mean=0.3059, std=0.3821)
        split = ClassSplit(LabeledSet(prep.apply(X_train[seen]), y_train[seen], prep), None,
                           LabeledSet(prep.apply(X[unseen]), y[unseen], prep), SEEN, [], UNSEEN)
        result = train(config, quiet=verbose < 1, split=split)
        embedded["triplet MLP (0-5)"] = result.model.embedder.embed(split.test.X)
        seconds["triplet MLP (0-5)"] = sum(h["seconds"] for h in result.history)
    rows = {name: retrieval_metrics(Z, y[unseen], backend="exact").as_dict() for name, Z in embedded.items()}
    for name, value in seconds.items():
        rows[name]["fit_seconds"] = value
    plot_projections(
        [(f"{name}: MAP@R {rows[name]['map_at_r']:.3f}", PCA(2, random_state=seed).fit_transform(Z)) for name, Z in embedded.items()],
        y[unseen],
        out / "unseen_classes.png",
        overwrite=overwrite,
    )
    return {"seen_classes": SEEN, "unseen_classes": UNSEEN, "n_unseen": int(unseen.sum()), "metrics": rows, "triplet_config": config.as_dict(),
            **({"note": note} if note else {})}
