"""Sections for deep metric learning: quality on unseen classes, the demo's selection, the speed benchmark, training runs."""

from __future__ import annotations

from pathlib import Path

from metrickit._config import flatten
from metrickit.reporting._common import images, provenance_bullets, titled
from metrickit.reporting.document import Bullets, Paragraph, Section, Table

__all__ = ["BUILDERS"]


def _deep_quality(record: dict, path: Path) -> list[Section]:
    rows = [[name, f"{r['map_at_r']:.4f}", f"{r['precision_at_1']:.4f}", f"{r['r_precision']:.4f}", f"{r['knn_accuracy']:.4f}",
             f"{r['fit_seconds']:.0f}" if "fit_seconds" in r else "-"] for name, r in record["methods"].items()]
    return [Section("Deep metric learning on unseen classes: MNIST, train on 0-4, test on 5-9", [
        Paragraph(f"Trained on the {record['n_train']:,} training images of digits {record['train_classes']}; ranked leave-one-out "
                  f"among the {record['n_test']:,} test images of the unseen digits {record['test_classes']}. Same conv-4 backbone "
                  "(64-d), budget, seed and optimiser for every network; no tuning on the test classes."),
        provenance_bullets(record),
        Table(["method", "MAP@R", "precision@1", "R-precision", "5-NN accuracy", "training (s)"], rows),
    ])]


def _deep_demo_select(record: dict, path: Path) -> list[Section]:
    rows = sorted(record["rows"], key=lambda r: -r["val_map_at_r"])
    shown = [r for r in rows if r["method"] != "triplet"] + [r for r in rows if r["method"] == "triplet"][:5]
    table = [[r["method"], ", ".join(f"{k}={v}" for k, v in r.items() if k not in ("method", "val_map_at_r", "per_fold", "seconds")) or "-",
              f"{r['val_map_at_r']:.4f}"] for r in sorted(shown, key=lambda r: -r["val_map_at_r"])]
    return [Section("The demo's embedder, chosen on validation classes (digits)", [
        Paragraph("Three folds: train on four of the digits 0-5 (training split), rank all images of the other two; mean MAP@R. "
                  "The demo's unseen digits 6-9 are never used. Top five triplet settings, with Euclidean and LMNN for reference."),
        provenance_bullets(record),
        Table(["method", "settings", "validation MAP@R (mean of 3 folds)"], table),
        Paragraph("On these small 8 x 8 images, with four to six training classes, no learned metric beats Euclidean distance on "
                  "held-out digits, and the demo shows the same on 6-9; the MNIST run above, with 30k training images, shows the transfer."),
    ])]


def _deep_speed(record: dict, path: Path) -> list[Section]:
    def time_of(r):
        return f"{r['median_seconds'] * 1e3:.1f}" if r and r["status"] == "ok" else (r["status"] if r else "-")

    def memory_of(r):
        return f"{r['peak_rss_increase_mib']:.0f}" if r and r["status"] == "ok" else "-"

    rows = []
    for cell in record["cells"]:
        ours, theirs = cell["results"]["metrickit"], cell["results"].get("pml")
        ratio = lambda key, form: form.format(cell[key]) if key in cell else "-"  # noqa: E731
        rows.append([str(cell["threads"]), str(cell["batch"]), cell["layout"], cell["method"], time_of(ours),
                     time_of(theirs), ratio("speedup", "{:.2f}x"), memory_of(ours), memory_of(theirs), ratio("memory_ratio", "{:.2f}x"),
                     ratio("loss_difference", "{:.1e}")])
    return [Section("Losses and miners: metrickit vs pytorch-metric-learning, one training step", [
        Paragraph(f"Forward + backward on random embeddings (dim {record['dim']}), median of 10 steps after 3 warm-ups, each cell in a "
                  "fresh process" + (f", {record['rounds']} rounds per implementation, alternating, and the median over rounds"
                                     if record.get("rounds", 1) > 1 else "") +
                  "; memory is the max RSS increase over the post-import baseline. PML's triplet rows run with "
                  "`LpDistance(normalize_embeddings=False, power=2)` and `AvgNonZeroReducer`; |loss difference| is between the two "
                  "implementations' first-step losses. PML has no equivalent of the FaceNet/TF-Addons semi-hard rule, so that row shows "
                  "metrickit alone. Its contrastive loss runs on `LpDistance(power=1)` over the same pairs but is unsquared (d and "
                  "relu(m - d), where metrickit has Hadsell et al.'s squares): speed and memory compare, the losses do not. "
                  "Losses with class vectors start from the same vectors in both, and the step includes their gradient; NT-Xent's "
                  "labels are two views of B/2 images. The xbm-contrastive row adds a cross-batch memory of 8,192 embeddings, "
                  "filled before timing (metrickit: the batch's pairs plus the batch against the memory; PML's CrossBatchMemory: "
                  "the batch enqueued, then against the whole memory)."),
        provenance_bullets(record),
        Table(["threads", "batch", "labels", "method", "metrickit (ms)", "PML (ms)", "speed-up", "metrickit (+MiB)", "PML (+MiB)",
               "memory ratio", "loss difference"], rows),
    ])]


def _ddp_scaling(record: dict, path: Path) -> list[Section]:
    def seconds(cell: dict) -> str:
        return f"{cell['median_step_seconds'] * 1e3:.0f}" if cell["status"] == "ok" else cell["status"]

    rows = [[str(r["global_batch"]), r["impl"], seconds(r["one"]), seconds(r["two"]),
             f"{r['speedup']:.2f}x" if "speedup" in r else "-", f"{r['efficiency']:.0%}" if "efficiency" in r else "-",
             f"{r['bytes_sent_per_step'] / 2**20:.2f}" if "bytes_sent_per_step" in r else "-"] for r in record["timing"]]
    checks = [[str(c["global_batch"]), c["impl"], c["loss"], f"{c['loss_ratio']:.6f}", f"{c['gradient_relative_difference']:.1e}",
               f"{c['head_gradient_ratio']:.6f}" if "head_gradient_ratio" in c else "-"] if c["status"] == "ok"
              else ["-", "-", "-", c["status"], "-", "-"] for c in record["checks"]]
    return [Section("Training on 2 processes: scaling and exactness, metrickit vs pytorch-metric-learning", [
        Paragraph(f"{record['model']}; P x K global batches of 8 digits; torchrun with gloo, {record['threads_per_process']} thread per "
                  "process; BatchNorm reduced over the ranks for both implementations (torch's SyncBatchNorm is CUDA-only). "
                  f"Step time: semi-hard triplets, float32, median of {record['steps']} steps after 3 warm-ups, each cell in fresh "
                  f"processes, {record['rounds']} rounds alternating, median over rounds. Efficiency = t(1) / (2 t(2)). MiB sent per "
                  "step per rank: ring-algorithm volume of every collective (embeddings gathered, BatchNorm sums, DDP's gradient "
                  "all-reduce). PML: DistributedLossWrapper + DistributedMinerWrapper."),
        provenance_bullets(record),
        Table(["global batch", "implementation", "1 process (ms/step)", "2 processes (ms/step)", "speed-up", "efficiency",
               "MiB sent per step"], rows),
        Paragraph("Exactness (float64, one step on 2 processes against one process on the same global batch and weights): the loss "
                  "each reports as a ratio to one process's, the model's gradient after DDP's average as a relative difference, "
                  "and the norm of the class vectors' gradient (ArcFace) as a ratio."),
        Table(["global batch", "implementation", "loss", "reported loss / one process", "model gradient (relative difference)",
               "class-vector gradient / one process"], checks),
    ])]


def _training_run(record: dict, path: Path) -> list[Section]:
    config, history = flatten(record["config"]), record["history"]
    last = history[-1] if history else {}
    items = [f"{k}: {v}" for k, v in config.items() if k in ("method", "dataset", "loss", "miner", "architecture", "n_way", "n_shot",
                                                             "n_query", "epochs", "learning_rate")]
    items.append(f"best epoch {record.get('best_epoch')}; last epoch loss {last.get('loss', float('nan')):.4f}; "
                 f"training {record.get('train_seconds', 0):.0f} s")
    if record.get("classes"):
        classes = record["classes"]
        items.append(f"classes: trained on {classes['fit']}, validated on {classes['validation'] or 'none'}, tested on {classes['test']}")
    if record.get("test"):
        items.append("unseen test classes: " + ", ".join(f"{k} {v:.4f}" for k, v in record["test"].items() if isinstance(v, float)))
    return [Section(titled("Training run", path), [Bullets(items), provenance_bullets(record),
                                                         *images(path.parent, [("training_curve.png", "training curve")])])]


def _retrieval_eval(record: dict, path: Path) -> list[Section]:
    rows = [[name, f"{record[key]:.4f}"] for name, key in (("precision@1", "precision_at_1"), ("R-precision", "r_precision"),
                                                         ("MAP@R", "map_at_r"), (f"{record['n_neighbors']}-NN accuracy", "knn_accuracy"))]
    notes = [f"{record['n_queries']} queries ({record['n_skipped']} skipped: no other sample of their class), backend {record['backend']}"]
    if record["classes_seen_in_training"]:
        notes.append(f"classes {record['classes_seen_in_training']} were seen in training")
    return [Section(f"{record['model']} on {record['dataset']} ({record['split']}), classes {record['classes']}",
                    [Table(["metric", "value"], rows), Bullets(notes)])]


_SCORE_NAMES = {"map_at_r": "MAP@R", "precision_at_1": "P@1", "r_precision": "R-precision", "accuracy_5w1s": "5-way 1-shot accuracy",
                "map": "mAP", "rank1": "rank-1"}


def _loss_comparison(record: dict, path: Path) -> list[Section]:
    """Every loss with its chosen setting: test scores over seeds, and whether it is within noise of the best."""
    budget, classes, seeds, metric = record["budget"], record["classes"], record["seeds"], record["metric"]
    shown = [metric, *(m for m in record["metrics"] if m != metric)][:2]
    rows = []
    for loss, row in sorted(record["losses"].items(), key=lambda item: -item[1]["summary"][metric]["mean"]):
        s, versus = row["summary"], row["versus_best"]
        candidates = ", ".join(f"{name} {c['val']:.3f}" for name, c in row["candidates"].items())
        rows.append([loss, candidates, f"{row['chosen']}, {row['epochs']} epochs", *(f"{s[k]['mean']:.4f} ± {s[k]['sd']:.4f}" for k in shown),
                     "best" if loss == record["best"] else f"{versus['difference']:+.4f} ± {versus['se']:.4f}",
                     "-" if loss == record["best"] else ("yes" if versus["within_noise"] else "no")])
    rows.append(["Euclidean (pixels)", "-", "-", *(f"{record['pixels'][k]:.4f}" for k in shown), "-", "-"])
    if record["task"] == "mnist":
        title = f"Which loss? MNIST, trained on {classes['final']}, unseen {classes['test']}, {len(seeds)} seeds"
        setup = (f"One backbone ({budget['architecture']}, {budget['embedding_dim']}-d unless a candidate says otherwise) and one budget "
                 f"(up to {budget['epochs']} epochs x {budget['batches_per_epoch']} batches of {budget['n_classes_per_batch']} x "
                 f"{budget['n_per_class']}) for every loss.")
    elif record["task"] == "omniglot":
        test = record["test_episodes"]
        title = f"Which loss? Omniglot {test['n_way']}-way {test['n_shot']}-shot on unseen characters, {len(seeds)} seeds"
        setup = (f"One backbone (conv-4, 64-d unless a candidate says otherwise) and one short budget (up to {budget['epochs']} epochs x "
                 f"{budget['batches_per_epoch']} episodes of {budget['n_way']} classes x {budget['n_shot'] + budget['n_query']} drawings) "
                 f"for every loss; test: the same {test['n_episodes']} seeded episodes ({test['n_query']} queries per class, nearest "
                 "prototype) for every run.")
    else:
        title = f"Which loss? Re-identification on the Market-1501 subset, unseen persons, {len(seeds)} seeds"
        setup = (f"One backbone (conv-4, 128-d unless a candidate says otherwise, horizontal flips) and one budget (up to {budget['epochs']} "
                 f"epochs x {budget['batches_per_epoch']} batches of 8 persons x 4 images) for every loss; scores: the query/gallery "
                 "protocol of the persons scored (one query per person and camera, same person and camera ignored).")
    return [Section(title, [
        Paragraph(f"{setup} Choosing: trained on {classes['fit']} with seed {seeds[0]}, validated on {classes['val']}; the validation "
                  f"{record['val_metric']} picks each loss's one hyperparameter (candidates shown with theirs) and its best epoch the final "
                  f"runs' length. Final: the chosen setting trains on {classes['final']} with seeds {seeds} and is scored on the unseen "
                  f"classes {classes['test']}, which no choice saw. Mean ± sd over seeds; a loss is within noise of the best when their "
                  "means differ by less than twice the standard error of the difference."),
        provenance_bullets(record),
        Table(["loss", f"candidates (validation {record['val_metric']})", "chosen", *(f"test {_SCORE_NAMES[k]}" for k in shown),
               "vs best (± SE)", "within noise"], rows),
    ])]


BUILDERS = {
    "loss-comparison": _loss_comparison,
    "deep-quality": _deep_quality,
    "deep-demo-select": _deep_demo_select,
    "deep-speed": _deep_speed,
    "ddp-scaling": _ddp_scaling,
    "training-run": _training_run,
    "retrieval-eval": _retrieval_eval,
}
