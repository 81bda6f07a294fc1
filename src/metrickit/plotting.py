"""Figures written to PNG files (matplotlib, Agg backend), atomically."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Sequence

import numpy as np

from metrickit._io import atomic_path

__all__ = ["plot_cmc_curves", "plot_distance_histograms", "plot_embedding_projections", "plot_fewshot_accuracy", "plot_objective", "plot_projections", "plot_roc_curves", "plot_training_curve", "plot_validation_curves"]


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def plot_projections(
    panels: Sequence[tuple[str, np.ndarray]], labels: np.ndarray, path: str | os.PathLike, *, overwrite: bool = False
) -> Path:
    """Scatter plots side by side, one per ``(title, points of shape (n, 2))``, coloured by ``labels``."""
    plt = _pyplot()
    fig, axes = plt.subplots(1, len(panels), figsize=(5.2 * len(panels), 4.8), squeeze=False)
    classes, codes = np.unique(labels, return_inverse=True)
    cmap = plt.get_cmap("tab10" if len(classes) <= 10 else "tab20")
    for ax, (title, points) in zip(axes[0], panels):
        scatter = ax.scatter(points[:, 0], points[:, 1], c=codes, cmap=cmap, s=9, alpha=0.8, vmin=0, vmax=max(len(classes) - 1, 1))
        ax.set_title(title, fontsize=10)
        ax.set_xticks([])
        ax.set_yticks([])
    if len(classes) <= 20:
        handles = scatter.legend_elements()[0]
        fig.legend(handles, [str(c) for c in classes], loc="center right", title="class", fontsize=8)
        fig.subplots_adjust(right=0.9)
    return _save(fig, path, overwrite)


def plot_embedding_projections(embeddings: dict[str, np.ndarray], labels: np.ndarray, path: str | os.PathLike, *, max_classes: int = 10,
                               overwrite: bool = False) -> Path:
    """One panel per method: its embeddings of the same samples projected on their first two principal axes, coloured by
    label (the first ``max_classes`` labels only, so the colours stay distinguishable)."""
    labels = np.asarray(labels)
    keep = np.isin(labels, np.unique(labels)[:max_classes])
    panels = []
    for name, Z in embeddings.items():
        Z = np.asarray(Z, dtype=np.float64)[keep]
        centred = Z - Z.mean(0)
        axes = np.linalg.svd(centred, full_matrices=False)[2][:2] if centred.shape[1] >= 2 else np.eye(1, 2)
        panels.append((f"{name} (PCA of its embedding)", centred @ axes.T))
    return plot_projections(panels, labels[keep], path, overwrite=overwrite)


def plot_objective(history: Sequence[float], path: str | os.PathLike, *, overwrite: bool = False) -> Path:
    """The exact LMNN objective after each outer iteration (log scale)."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(5, 3.5))
    ax.semilogy(np.arange(len(history)), history, marker="o")
    ax.set_xlabel("outer iteration (impostor search)")
    ax.set_ylabel("exact objective")
    ax.grid(True, alpha=0.3)
    return _save(fig, path, overwrite)


_VALIDATION_METRICS = (("val_map_at_r", "MAP@R"), ("val_precision_at_1", "precision@1"), ("val_accuracy", "episode accuracy"),
                       ("val_roc_auc", "verification ROC AUC"))


def plot_training_curve(history: Sequence[dict], path: str | os.PathLike, *, overwrite: bool = False) -> Path:
    """Training loss (and the active-tuple fraction) per epoch, beside validation MAP@R when there is one."""
    plt = _pyplot()
    epochs = [h["epoch"] for h in history]
    metrics = [(key, label) for key, label in _VALIDATION_METRICS if any(h.get(key) is not None for h in history)]
    validated = [h for h in history if any(h.get(key) is not None for key, _ in metrics)]
    fig, axes = plt.subplots(1, 2 if validated else 1, figsize=(10 if validated else 5, 3.5), squeeze=False)
    ax = axes[0][0]
    ax.plot(epochs, [h["loss"] for h in history], marker="o", label="training loss")
    ax.set_xlabel("epoch")
    ax.set_ylabel("loss")
    ax.grid(True, alpha=0.3)
    if any(h.get("active_fraction") is not None for h in history):
        twin = ax.twinx()
        twin.plot(epochs, [h.get("active_fraction") for h in history], color="tab:gray", linestyle="--", label="active fraction")
        twin.set_ylabel("active tuples (fraction)")
        twin.set_ylim(0, 1.05)
    if validated:
        val = axes[0][1]
        for (key, label), marker in zip(metrics, "os^d"):
            val.plot([h["epoch"] for h in validated], [h[key] for h in validated], marker=marker, label=label)
        val.set_xlabel("epoch")
        val.set_title("validation classes (unseen in training)", fontsize=10)
        val.legend(fontsize=8)
        val.grid(True, alpha=0.3)
    fig.tight_layout()
    return _save(fig, path, overwrite)


def plot_validation_curves(curves: dict[str, Sequence[dict]], path: str | os.PathLike, *, key: str, ylabel: str, title: str = "",
                           overwrite: bool = False) -> Path:
    """One line per method: ``history[key]`` per epoch (with ``history[key + '_ci95']`` as a band where present)."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6.4, 4.0))
    for (name, history), marker in zip(curves.items(), "os^dvP*X"):
        epochs = np.array([h["epoch"] for h in history])
        values = np.array([h[key] for h in history]) * 100
        ax.plot(epochs, values, marker=marker, label=name)
        if all(h.get(key + "_ci95") is not None for h in history):
            ci = np.array([h[key + "_ci95"] for h in history]) * 100
            ax.fill_between(epochs, values - ci, values + ci, alpha=0.2)
    ax.set_xlabel("epoch")
    ax.set_ylabel(ylabel)
    ax.set_title(title, fontsize=10)
    ax.legend(fontsize=8)
    ax.grid(True, alpha=0.3)
    fig.tight_layout()
    return _save(fig, path, overwrite)


def plot_fewshot_accuracy(methods: dict[str, dict], path: str | os.PathLike, *, title: str = "", overwrite: bool = False) -> Path:
    """Grouped bars: episode accuracy per N-way K-shot setting for each method, with 95% confidence intervals."""
    plt = _pyplot()
    names = list(methods)
    settings = [f"{r['n_way']}-way {r['n_shot']}-shot" for r in methods[names[0]]["results"]]
    width = 0.8 / len(names)
    fig, ax = plt.subplots(figsize=(max(6.0, 1.6 * len(settings) * max(1, len(names) / 2.5)), 4.2))
    for k, name in enumerate(names):
        rows = methods[name]["results"]
        x = np.arange(len(rows)) + (k - (len(names) - 1) / 2) * width
        acc, ci = np.array([r["accuracy"] for r in rows]) * 100, np.array([r["ci95"] for r in rows]) * 100
        ax.bar(x, acc, width * 0.92, yerr=ci, capsize=3, label=name)
        for xi, a in zip(x, acc):
            ax.text(xi, a + 1, f"{a:.1f}", ha="center", va="bottom", fontsize=7, rotation=90)
    ax.set_xticks(np.arange(len(settings)), settings)
    ax.set_ylabel("accuracy (%), 95% CI")
    ax.set_ylim(0, 112)
    ax.set_title(title, fontsize=10)
    ax.legend(fontsize=8, loc="lower left")
    ax.grid(True, axis="y", alpha=0.3)
    fig.tight_layout()
    return _save(fig, path, overwrite)


def plot_roc_curves(curves: dict[str, list[tuple[np.ndarray, np.ndarray]]], path: str | os.PathLike, *, title: str = "",
                    overwrite: bool = False) -> Path:
    """ROC (TAR against FAR, log scale) per method, averaged over folds: each fold's TAR read at the same FARs, then the
    mean. The legend lists the methods best first (mean TAR over the plotted FARs); beyond six it sits beside the axes,
    and beyond ten the colours come from a 20-colour map, so no two methods share one."""
    from metrickit.evaluation.verification import tar_at_fars

    plt = _pyplot()
    grid = np.logspace(-3, 0, 200)
    means = {name: np.mean([tar_at_fars(far, tar, grid) for far, tar in folds], axis=0) for name, folds in curves.items()}
    order = sorted(means, key=lambda name: -float(np.mean(means[name])))
    beside = len(curves) > 6
    fig, ax = plt.subplots(figsize=(8.6 if beside else 5.6, 4.4))
    colours = plt.get_cmap("tab20").colors if len(curves) > 10 else plt.get_cmap("tab10").colors
    for i, name in enumerate(order):
        folds = len(curves[name])
        ax.plot(grid, means[name], color=colours[i % len(colours)], label=f"{name} ({folds} fold{'s' if folds > 1 else ''})")
    ax.plot(grid, grid, color="0.7", linestyle=":", label="chance")
    ax.set_xscale("log")
    ax.set_xlim(1e-3, 1)
    ax.set_ylim(0, 1.01)
    ax.set_xlabel("false accept rate (impostor pairs accepted)")
    ax.set_ylabel("true accept rate (genuine pairs accepted)")
    ax.set_title(title, fontsize=10)
    ax.legend(fontsize=8, **({"loc": "center left", "bbox_to_anchor": (1.02, 0.5)} if beside else {"loc": "lower right"}))
    ax.grid(True, which="both", alpha=0.3)
    fig.tight_layout()
    return _save(fig, path, overwrite)


def plot_distance_histograms(distances: dict[str, tuple[Sequence[float], Sequence[float]]], path: str | os.PathLike, *,
                             title: str = "", overwrite: bool = False) -> Path:
    """Per method, histograms of genuine and impostor pair distances (in units of the calibrated threshold: 1 decides)."""
    plt = _pyplot()
    fig, axes = plt.subplots(1, len(distances), figsize=(3.4 * len(distances), 3.2), squeeze=False, sharey=False)
    for ax, (name, (genuine, impostor)) in zip(axes[0], distances.items()):
        top = float(np.quantile(np.r_[genuine, impostor], 0.995))
        bins = np.linspace(0, max(top, 1.05), 40)
        ax.hist(np.clip(impostor, 0, bins[-1]), bins, density=True, alpha=0.6, color="tab:red", label="impostor")
        ax.hist(np.clip(genuine, 0, bins[-1]), bins, density=True, alpha=0.6, color="tab:blue", label="genuine")
        ax.axvline(1.0, color="k", linestyle="--", linewidth=1, label="threshold")
        ax.set_title(name, fontsize=9)
        ax.set_xlabel("distance / threshold")
        ax.set_yticks([])
    axes[0][0].legend(fontsize=7)
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return _save(fig, path, overwrite)


def plot_cmc_curves(curves: dict[str, Sequence[float]], path: str | os.PathLike, *, title: str = "", max_rank: int = 20,
                    overwrite: bool = False) -> Path:
    """CMC curves: the fraction of queries whose first correct match is within rank r, for r = 1..max_rank."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(5.6, 4.2))
    for (name, cmc), style in zip(curves.items(), ["-", "--", "-.", ":"] * 8):
        values = np.asarray(cmc, dtype=float)[:max_rank] * 100
        ax.plot(np.arange(1, len(values) + 1), values, linestyle=style, marker=".", label=f"{name} (rank-1 {values[0]:.1f}%)")
    ax.set_xlabel("rank")
    ax.set_ylabel("matches within rank (%)")
    ax.set_ylim(0, 101)
    ax.set_title(title, fontsize=10)
    ax.legend(fontsize=8, loc="lower right")
    ax.grid(True, alpha=0.3)
    fig.tight_layout()
    return _save(fig, path, overwrite)


def _save(fig, path: str | os.PathLike, overwrite: bool) -> Path:
    plt = _pyplot()
    try:
        with atomic_path(path, overwrite=overwrite) as tmp:
            fig.savefig(tmp, dpi=110, bbox_inches="tight", format="png")
    finally:
        plt.close(fig)
    return Path(path)
