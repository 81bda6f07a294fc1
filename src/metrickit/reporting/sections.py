"""One report section per result file: benchmark JSONs (``bench/results``) and the ``results.json`` that ``metrickit``
commands write (training runs, few-shot, verification and re-identification evaluations).

:func:`classify` names a record's kind; :data:`BUILDERS` turns a record (and the folder it came from, for its PNGs)
into sections. :data:`ORDER` is the order of kinds in a report.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

import numpy as np

from metrickit._config import flatten
from metrickit.reporting.document import Bullets, Image, Paragraph, Section, Table
from metrickit.runs import KINDS
from metrickit.training.config import MARGINS

__all__ = ["BUILDERS", "ORDER", "classify", "sort_key"]

ORDER = KINDS
_LMNN_ORDER = ("euclidean", "nca", "metric-learn", "pylmnn", "metrickit")


def classify(record: Any) -> str | None:
    """The ``kind`` a result record is tagged with, if a report knows it (None otherwise, untagged records included)."""
    kind = record.get("kind") if isinstance(record, dict) else None
    return kind if kind in BUILDERS else None


def sort_key(kind: str, record: dict, path: Path) -> tuple:
    """Reports list kinds in :data:`ORDER`; LMNN benchmarks by dataset (iris, wine, digits, MNIST by size), others by path."""
    if kind == "lmnn":
        datasets = ("iris", "wine", "digits", "mnist")
        dataset = record.get("dataset", "")
        return (ORDER.index(kind), datasets.index(dataset) if dataset in datasets else 9, "pca164" in path.stem, len(path.stem), path.stem)
    return (ORDER.index(kind), str(path))


def _provenance(record: dict) -> Bullets:
    prov = record.get("provenance", {})
    items = [f"command: `{prov.get('command', '?')}`; finished {record.get('finished', '?')}",
             f"threads: {prov.get('threads')}; CPU: {prov.get('cpu')} ({prov.get('cpu_count')} cores); git {prov.get('git_sha')}",
             f"versions: {', '.join(f'{k} {v}' for k, v in prov.get('versions', {}).items())}"]
    if "provenance_note" in record:
        items.append(f"note: {record['provenance_note']}")
    return Bullets(items)


def _pm(stat: dict | None, pct: bool = True) -> str:
    if stat is None:
        return "-"
    return f"{stat['mean']:.2%} ± {stat['sd']:.2%}" if pct else f"{stat['mean']:.4f} ± {stat['sd']:.4f}"


def _images(folder: Path, names: list[tuple[str, str]]) -> list[Image]:
    return [Image(folder / name, caption) for name, caption in names if (folder / name).is_file()]


def _lmnn(record: dict, path: Path) -> list[Section]:
    def ok(entry: dict) -> list[dict]:
        return [s for s in entry["per_split"] if s["status"] == "ok"]

    def mean_sd(values: list[float]) -> str:
        if len(values) == 1:
            return f"{values[0] * 100:.2f}%"
        return f"{np.mean(values) * 100:.2f} ± {np.std(values, ddof=1) * 100:.2f}%"

    methods = record["methods"]
    ours = ok(methods.get("metrickit", {"per_split": []}))
    our_time = float(np.median(ours[0]["fit_seconds_repeats"])) if ours else None
    rows = []
    for name in sorted(methods, key=lambda m: _LMNN_ORDER.index(m) if m in _LMNN_ORDER else 99):
        runs, failed = ok(methods[name]), [s for s in methods[name]["per_split"] if s["status"] != "ok"]
        if not runs:
            rows.append([name, failed[0]["status"], *["-"] * 5])
            continue
        t, reps = float(np.median(runs[0]["fit_seconds_repeats"])), len(runs[0]["fit_seconds_repeats"])
        speed = "-"
        if name not in ("metrickit", "euclidean") and our_time is not None and t >= 2.0:
            speed = f"{t / our_time:.1f}x" if our_time >= 2.0 else f">{t / 2.0:.1f}x (metrickit < 2 s)"
        obj = float(np.mean([r["objective"] for r in runs]))
        our_obj = float(np.mean([r["objective"] for r in ours[: len(runs)]])) if ours else None
        rel = "-" if our_obj is None or name == "metrickit" else f"{obj / our_obj:.4f}"
        note = f" ({len(failed)} failed)" if failed else ""
        rows.append([name, f"{mean_sd([r['test_error'] for r in runs])}{note}", f"{t:.2f} (n={reps})", f"{runs[0]['peak_rss_mib']:.0f}",
                     f"{obj:.6g}", speed, rel])
    prov, n = record["provenance"], record["splits"][0]
    title = record["dataset"] + (f" (n_train = {n['n_train']:,})" if record["dataset"] == "mnist" else "")
    bullets = Bullets([
        f"command: `{prov['command']}`; {record['started']} to {record['finished']}",
        f"splits: {len(record['splits'])} x {n.get('split', '')} (seeds {', '.join(str(s['seed']) for s in record['splits'])}), "
        f"{n['n_train']} train / {n['n_test']} test; features: {n['features']}",
        f"threads: {prov['threads']}; CPU: {prov['cpu']} ({prov['cpu_count']} cores); limits: {record['timeout_s']:.0f} s, "
        f"{record['mem_limit_gb']:.0f} GB per fit; git {prov['git_sha']}",
        f"versions: {', '.join(f'{k} {v}' for k, v in prov['versions'].items())}",
    ])
    columns = ["method", "3-NN test error", "fit time (s, split 0, median)", "peak memory (MiB)", "exact objective (mean)",
               "metrickit speed-up", "objective vs metrickit"]
    return [Section(f"LMNN: {title}", [bullets, Table(columns, rows)])]


def _lmnn_select(record: dict, path: Path) -> list[Section]:
    rows = [[str(r["pca"]), f"{r['euclidean_val_error']:.2%}", f"{r['lmnn_val_error']:.2%}", f"{r['fit_seconds']:.0f}", str(r["n_iter"])]
            for r in record["rows"]]
    return [Section("MNIST: choosing the PCA dimension on validation data", [
        Bullets([f"command: `{record['provenance']['command']}`; split: {record['split']} (the test set is not used)"]),
        Table(["PCA", "Euclidean 3-NN validation error", "LMNN 3-NN validation error", "LMNN fit (s)", "L-BFGS iterations"], rows),
        Paragraph(f"Selected: PCA-{record['selected_pca']} (lowest LMNN validation error). These fits shared the machine with other "
                  "work, so their times are indicative only."),
    ])]


def _deep_quality(record: dict, path: Path) -> list[Section]:
    rows = [[name, f"{r['map_at_r']:.4f}", f"{r['precision_at_1']:.4f}", f"{r['r_precision']:.4f}", f"{r['knn_accuracy']:.4f}",
             f"{r['fit_seconds']:.0f}" if "fit_seconds" in r else "-"] for name, r in record["methods"].items()]
    return [Section("Deep metric learning on unseen classes: MNIST, train on 0-4, test on 5-9", [
        Paragraph(f"Trained on the {record['n_train']:,} training images of digits {record['train_classes']}; ranked leave-one-out "
                  f"among the {record['n_test']:,} test images of the unseen digits {record['test_classes']}. Same conv-4 backbone "
                  "(64-d), budget, seed and optimiser for every network; no tuning on the test classes."),
        _provenance(record),
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
        _provenance(record),
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
                     time_of(theirs), ratio("speedup", "{:.1f}x"), memory_of(ours), memory_of(theirs), ratio("memory_ratio", "{:.1f}x"),
                     ratio("loss_difference", "{:.1e}")])
    return [Section("Losses and miners: metrickit vs pytorch-metric-learning, one training step", [
        Paragraph(f"Forward + backward on random embeddings (dim {record['dim']}), median of 10 steps after 3 warm-ups, each cell in a "
                  "fresh process; memory is the max RSS increase over the post-import baseline. PML's triplet rows run with "
                  "`LpDistance(normalize_embeddings=False, power=2)` and `AvgNonZeroReducer`; |loss difference| is between the two "
                  "implementations' first-step losses. PML has no equivalent of the FaceNet/TF-Addons semi-hard rule, so that row shows "
                  "metrickit alone. Its contrastive loss runs on `LpDistance(power=1)` over the same pairs but is unsquared (d and "
                  "relu(m - d), where metrickit has Hadsell et al.'s squares): speed and memory compare, the losses do not."),
        _provenance(record),
        Table(["threads", "batch", "labels", "method", "metrickit (ms)", "PML (ms)", "speed-up", "metrickit (+MiB)", "PML (+MiB)",
               "memory ratio", "loss difference"], rows),
    ])]


def _fewshot_shapes(record: dict, path: Path) -> list[Section]:
    rows = []
    for row in record["rows"]:
        v = row["validation"]
        rows.append([" x ".join(map(str, row["shape"])), str(row["images_per_episode"]), str(row["episodes"]), f"{row['train_seconds']:.0f}",
                     *(f"{v[s]['accuracy']:.2%} ± {v[s]['ci95']:.2%}" for s in ("5-way 1-shot", "20-way 1-shot"))])
    return [Section("Few-shot Omniglot: choosing the training episode shape on validation classes", [
        Paragraph(f"Prototypical Networks trained on `train.txt` for the same number of images ({record['images']:,}, so about the same "
                  "compute) per episode shape, constant learning rate; scored on 1,000 `val.txt` episodes (15 queries per class). "
                  "The test split is not used."),
        _provenance(record),
        Table(["episode shape (way x shot x query)", "images per episode", "episodes", "training (s)", "validation 5-way 1-shot",
               "validation 20-way 1-shot"], rows),
        Paragraph(f"Selected: {' x '.join(map(str, record['selected']))} (best validation 20-way 1-shot accuracy)."),
    ])]


def _episode_table(test: dict, extra: Callable[[str], list[str]] | None = None, extra_columns: list[str] | None = None) -> Table:
    settings = [f"{e['n_way']}-way {e['n_shot']}-shot" for e in test["episodes"]]
    rows = [[name, *(f"{r['accuracy']:.2%} ± {r['ci95']:.2%}" for r in entry["results"]), *(extra(name) if extra else [])]
            for name, entry in test["methods"].items()]
    return Table(["method", *settings, *(extra_columns or [])], rows)


def _fewshot_protocol(record: dict, path: Path) -> list[Section]:
    test, methods, oneshot = record["test"], record["methods"], record.get("oneshot", {})
    config = flatten(next(iter(methods.values()))["config"])
    margin = config["margin"] if config["margin"] is not None else MARGINS["triplet"]
    stages = {name: (m, stage) for m in methods.values() for name, stage in m["models"].items()}

    def budget(name: str) -> list[str]:
        errors = [f"{o['results'][name]['mean_error']:.1%}" if name in o["results"] else "-" for o in oneshot.values()]
        if name not in stages:
            return [*errors, "-", "-", "-", "-"]
        m, stage = stages[name]
        per_epoch = flatten(m["config"])["batches_per_epoch"]
        if stage == "selection":
            run = m["selection"]
            return [*errors, "`train.txt`", f"{m['selected_episodes']} of {len(run['history']) * per_epoch}", f"{run['train_seconds']:.0f}",
                    f"{run['val_seconds']:.0f}"]
        if stage == "final":
            return [*errors, "`trainval.txt`", str(m["selected_episodes"]), f"{m['final']['train_seconds']:.0f}", "-"]
        lake = m["lake"]
        selection = lake["selection"]  # the two-stage run's selection part
        return [*errors, f"`images_background` ({lake['final']['n_train_classes'] // 4} characters)",
                f"{selection['selected_episodes']} of {len(selection['history']) * per_epoch}",
                f"{selection['train_seconds']:.0f} + {lake['final']['train_seconds']:.0f}", f"{selection['val_seconds']:.0f}"]

    lake_alphabets = next((m["lake"]["val_alphabets"] for m in methods.values() if m.get("lake")), [])
    run_sets = " ".join(f"{kind}: {o['note']} ({len(o['alphabets'])} alphabets, {o['n_excluded_characters']} characters left out)."
                        for kind, o in oneshot.items()) or "No one-shot runs in this record."
    return [Section("Few-shot Omniglot: Prototypical Networks and baselines on the same test episodes", [
        Paragraph(f"Every network is conv-4 (64-d) trained on {config['n_way']}-way {config['n_shot']}-shot {config['n_query']}-query "
                  f"episodes (Adam {config['learning_rate']:g}, halved every {config['lr_halve_every']} episodes): the number of episodes is "
                  f"chosen on `val.txt` ({config['val_n_way']}-way 1-shot, {config['val_episodes']} episodes, after every "
                  f"{config['batches_per_epoch']}) and the best epoch's weights are kept: the `(train)` rows, every method trained on "
                  "the training classes only. For the `(trainval)` rows a fresh run then trains on `trainval.txt` for the selected number "
                  "of episodes (the protocol's final model). " + (
                      "The `(background)` rows follow Lake's protocol: the number of episodes is chosen on background alphabets held out "
                      f"of training ({', '.join(lake_alphabets)}), then a fresh run trains on every `images_background` character (in four "
                      "rotations) for that many episodes. " if lake_alphabets else "") + "The softmax baseline "
                  "learns a classifier over the training classes from the same episodes' images and is used as a feature extractor; the "
                  f"triplet baseline uses semi-hard triplets (margin {margin:g}) on the same images as P x K batches. Test: "
                  f"{test['n_classes']} unseen `test.txt` classes, {test['n_episodes']} episodes per setting, {test['n_query']} queries per "
                  "class, one seeded episode file per setting shared by every method, nearest prototype in squared Euclidean distance, "
                  "BatchNorm in eval mode. Accuracy ± 95% CI. Training time counts the training steps only; validation and decoding are "
                  "separate. One-shot runs: 20 within-alphabet 20-way runs each, in the official layout, built by `metrickit fewshot "
                  f"make-runs` (seed {record['seed']}) from `images_evaluation.zip`, with only characters the scored models never trained "
                  f"or validated on (`fewshot eval --runs` refuses any other model); mean error over runs. {run_sets}"),
        _provenance(record),
        _episode_table(test, budget, [*(f"one-shot runs error ({kind})" for kind in oneshot), "trained on", "episodes (selected of run)",
                                      "training (s)", "validation (s)"]),
        Paragraph("Episode files: " + ", ".join(f"{e['n_way']}x{e['n_shot']} `{e['sha256'][:16]}`" for e in test["episodes"]) + "."),
        *_images(path.parent, [(path.stem + ".png", "accuracy per setting, 95% CI"),
                               (path.stem + "-validation.png", "validation accuracy per epoch of the selection runs")]),
    ])]


_VERIFY_TITLES = {"orl": "Face verification on unseen people: AT&T/ORL (s1-s30), 6 folds of 5 test subjects",
                  "svc2004": "Signature verification on unseen writers: SVC2004 (users 1-30), 3 folds of 10 test users"}


def _verify_table(record: dict, seconds: Callable[[str], str] | None = None) -> Table:
    signatures = record["dataset"] == "svc2004"
    columns = ["method", "ROC AUC", "EER (pooled, writer-independent)" if signatures else "EER", "accuracy at threshold",
               "balanced accuracy", "TAR at FAR 1%"] + (["per-user EER, skilled", "per-user EER, random"] if signatures else [])
    rows = []
    for name, entry in record["methods"].items():
        s = entry["summary"]
        row = [name, _pm(s["roc_auc"], pct=False), _pm(s["eer"]), _pm(s["accuracy"]), _pm(s["balanced_accuracy"]), _pm(s["tar_at_far"].get("1%"))]
        rows.append(row + ([_pm(s.get("user_eer_skilled")), _pm(s.get("user_eer_random"))] if signatures else [])
                    + ([seconds(name)] if seconds else []))
    return Table(columns + (["training (s, all folds)"] if seconds else []), rows)


def _verify(record: dict, path: Path) -> list[Section]:
    dataset = record["dataset"]
    first = flatten(next(iter(record["training"].values()))["config"])
    pairs = ("every genuine-genuine pair (190 per user) against every genuine-skilled forgery pair (400 per user); the per-user EER "
             "follows SVC2004 (references S1-S5, genuine S11-S20, skilled S21-S40, random = the other test users' genuine signatures; "
             "mean distance to the references)" if dataset == "svc2004" else "all 225 genuine and 1,000 impostor pairs of the 5 test subjects")
    return [Section(_VERIFY_TITLES.get(dataset, f"Verification: {dataset}"), [
        Paragraph("In each fold the method learns on the training identities minus 5 validation identities, which choose the epoch "
                  "(deep) or PCA size (LMNN) and calibrate the threshold (the EER threshold of their pairs); the test identities are seen "
                  f"only here. Test pairs: {pairs}. Mean ± sd over folds. Deep methods: conv-4, 128-d, {first['epochs']} epochs x "
                  f"{first['batches_per_epoch']} batches of {first['n_classes_per_batch']} x {first['n_per_class']}, Adam "
                  f"{first['learning_rate']:g}; TAR at FAR 0.1% is not reported (it needs >= 10,000 impostor pairs)."),
        _provenance(record),
        _verify_table(record, lambda name: f"{record['training'][name]['train_seconds']:.0f}"),
        *_images(path.parent, [(f"{path.stem}-{name}.png", caption) for name, caption in
                               (("roc", "ROC, mean over folds"), ("distances", "pair distances / threshold"), ("projection", "test embeddings, 2-D PCA"))]),
    ])]


_AP_RULES = {
    "torchreid": "AP is torchreid's form: the mean precision at each correct match.",
    "market1501": "AP is Market-1501's own form: precision-recall steps integrated by the trapezoid rule (never above torchreid's).",
}


def _reid_table(record: dict, seconds: Callable[[str], str] | None = None) -> Table:
    rows = []
    for name, entry in record["methods"].items():
        for kind, s in entry["summary"].items():
            rows.append([name + (" + re-ranking" if kind == "reranked" else ""), _pm(s["mean_ap"]), _pm(s["rank1"]), _pm(s["rank5"]),
                         _pm(s["rank10"]), *([seconds(name)] if seconds else [])])
    ap_rule = record.get("ap_rule", "torchreid")  # results written before the rule was recorded used torchreid's form
    return Table(["method", f"mAP ({ap_rule} AP)", "rank-1", "rank-5", "rank-10", *(["training (s, all seeds)"] if seconds else [])], rows)


def _reid(record: dict, path: Path) -> list[Section]:
    deep = next((flatten(t["config"]) for t in record["training"].values() if t["config"]["method"] in ("softmax", "triplet")), None)
    budget = (f" Deep methods: conv-4 on 128 x 64 images with horizontal flips, {deep['embedding_dim']}-d, {deep['epochs']} epochs x "
              f"{deep['batches_per_epoch']} batches of {deep['n_classes_per_batch']} persons x {deep['n_per_class']} images, Adam "
              f"{deep['learning_rate']:g}; the triplet embedder mines the hardest positive and negative in each batch (margin "
              f"{deep['margin']:g}).") if deep else ""
    return [Section("Person re-identification: Market-1501 subset, 5 splits of 50 unseen test persons", [
        Paragraph("For each seed, 50 persons are unseen test persons, 10 validate (epoch or PCA size, by their mAP) and 40 train. Queries: "
                  "one image per (person, camera) of the test persons, the lowest frame; gallery: all their images; gallery images of the "
                  "query's person from the query's camera, and junk (identity -1), are ignored. " + _AP_RULES[record.get("ap_rule", "torchreid")] + " Mean ± sd over seeds; re-ranking is k-reciprocal (k1 = 20, k2 = 6, "
                  "lambda = 0.3). Euclidean: standardised pixels. LMNN: colour histograms of 6 horizontal stripes, PCA, one target "
                  "neighbour." + budget + " This subset is small: a plumbing check, not a comparison with published Market-1501 results."),
        _provenance(record),
        _reid_table(record, lambda name: f"{record['training'][name]['train_seconds']:.0f}"),
        *_images(path.parent, [(f"{path.stem}-{name}.png", caption) for name, caption in
                               (("cmc", "CMC, mean over seeds"), ("projection", "test embeddings, 2-D PCA"))]),
    ])]


def _demo(record: dict, path: Path) -> list[Section]:
    return [Section(f"Demo: {path.parent.name}", [
        Bullets([f"digits, 3-NN test error: Euclidean {record['euclidean_error']:.2%}, LMNN {record['lmnn_error']:.2%}"]),
        *_images(path.parent, [("projection.png", "test set before and after learning"), ("unseen_classes.png", "unseen classes"),
                               ("objective.png", "LMNN objective")]),
    ])]


def _training_run(record: dict, path: Path) -> list[Section]:
    config, history = flatten(record["config"]), record["history"]
    last = history[-1] if history else {}
    items = [f"{k}: {v}" for k, v in config.items() if k in ("method", "dataset", "loss", "miner", "architecture", "n_way", "n_shot",
                                                             "n_query", "epochs", "learning_rate")]
    items.append(f"best epoch {record.get('best_epoch')}; last epoch loss {last.get('loss', float('nan')):.4f}; "
                 f"training {record.get('train_seconds', 0):.0f} s")
    if record.get("test"):
        items.append("unseen test classes: " + ", ".join(f"{k} {v:.4f}" for k, v in record["test"].items() if isinstance(v, float)))
    return [Section(f"Training run: {path.parent.name}", [Bullets(items), _provenance(record),
                                                         *_images(path.parent, [("training_curve.png", "training curve")])])]


def _fewshot_eval(record: dict, path: Path) -> list[Section]:
    return [Section(f"Few-shot evaluation: {path.parent.name}", [
        Paragraph(f"Omniglot {record['split']} ({record['n_classes']} classes), {record['n_episodes']} episodes per setting (seed "
                  f"{record['seed']}), {record['n_query']} queries per class; accuracy ± 95% CI."),
        _provenance(record), _episode_table(record), *_images(path.parent, [("accuracy.png", "accuracy per setting")]),
    ])]


def _verify_eval(record: dict, path: Path) -> list[Section]:
    return [Section(f"Verification: {record['dataset']} ({path.parent.name})", [
        _provenance(record), _verify_table(record),
        *_images(path.parent, [("roc.png", "ROC"), ("distances.png", "pair distances / threshold"), ("projection.png", "test embeddings")]),
    ])]


def _reid_eval(record: dict, path: Path) -> list[Section]:
    return [Section(f"Re-identification: {path.parent.name}", [
        _provenance(record), _reid_table(record), *_images(path.parent, [("cmc.png", "CMC"), ("projection.png", "test embeddings")]),
    ])]


def _repeats_training(record: dict, path: Path) -> list[Section]:
    """A protocol's training run: the validation score of every repeat (fold or seed) and of the final model."""
    def validation(r: dict) -> str:
        return f"ROC AUC {r['val']['roc_auc']:.4f}, EER {r['val']['eer']:.2%}" if "val" in r else f"mAP {r['val_map']:.2%}"

    def label(r: dict) -> str:
        return f"fold {r['fold']['index']}" if "fold" in r else f"seed {r['split']['seed']}"

    items = [f"{label(r)}: validation {validation(r)}, {r['train_seconds']:.0f} s" for r in record["repeats"]]
    if record.get("final"):
        items.append(f"final model: validation {validation(record['final'])}")
    return [Section(f"Training run: {path.parent.name} ({record['config']['method']})", [Bullets(items), _provenance(record)])]


BUILDERS: dict[str, Callable[[dict, Path], list[Section]]] = {
    "lmnn": _lmnn, "lmnn-mnist-select": _lmnn_select, "deep-quality": _deep_quality, "deep-demo-select": _deep_demo_select,
    "deep-speed": _deep_speed, "fewshot-shapes": _fewshot_shapes, "fewshot-omniglot": _fewshot_protocol, "verify-benchmark": _verify,
    "reid-benchmark": _reid, "demo": _demo, "training-run": _training_run, "fewshot-training": _training_run, "fewshot-eval": _fewshot_eval,
    "verify-training": _repeats_training, "verify-eval": _verify_eval, "reid-training": _repeats_training, "reid-eval": _reid_eval,
}
