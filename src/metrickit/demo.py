"""The main job: LMNN on scikit-learn's digits, 3-NN test error with Euclidean vs learned distance."""

from __future__ import annotations

import os
from pathlib import Path


from metrickit._io import write_json_atomic
from metrickit._provenance import provenance

__all__ = ["run_demo"]


def run_demo(
    out_dir: str | os.PathLike,
    *,
    quick: bool = False,
    seed: int = 0,
    overwrite: bool = False,
    verbose: int = 1,
    threads: int | None = None,
) -> dict:
    """Split digits 70/30 (stratified, ``seed``), fit LMNN on the training part, compare 3-NN test error.

    Writes ``results.json``, ``projection.png`` (test set in 2-D before and after learning),
    ``objective.png`` and ``model.npz`` into ``out_dir``. ``quick`` caps LMNN at 30 iterations (a smoke test).
    """
    from sklearn.decomposition import PCA
    from sklearn.model_selection import train_test_split

    from metrickit.datasets import load_bundled
    from metrickit.linear.io import save_model
    from metrickit.linear.workflow import fit_lmnn_model
    from metrickit.plotting import plot_objective, plot_projections

    out = Path(out_dir)
    if out.exists() and any(out.iterdir()) and not overwrite:
        raise FileExistsError(f"{out} already exists and is not empty; pass --overwrite or choose another --out.")
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
        provenance=provenance(threads),
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
    results["files"] = sorted(p.name for p in out.iterdir() if not p.name.startswith("."))
    write_json_atomic(out / "results.json", results, overwrite=overwrite)
    results["out_dir"] = str(out)
    return results


def format_table(results: dict) -> str:
    """The demo's result as a small text table."""
    rows = [
        ("Euclidean", results["euclidean_error"], "-"),
        ("LMNN", results["lmnn_error"], f"{results['fit_seconds']:.1f}"),
    ]
    lines = [
        f"digits: {results['n_train']} train / {results['n_test']} test (stratified 70/30, seed {results['split']['seed']}), 3-NN",
        f"{'metric':<10} {'test error':>10} {'fit s':>7}",
    ]
    lines += [f"{name:<10} {err:>10.2%} {secs:>7}" for name, err, secs in rows]
    rel = 1.0 - results["lmnn_error"] / results["euclidean_error"] if results["euclidean_error"] else float("nan")
    lines.append(f"relative error reduction: {rel:.1%}; LMNN objective {results['objective']:.6g} after {results['n_iter']} iterations")
    return "\n".join(lines)


