"""Few-shot Omniglot, the full protocol, for Prototypical Networks and the baselines on the same episodes.

For each method (protonet, softmax, triplet; same conv-4 backbone, same training episodes, optimiser and
budget):

1. selection: train on ``train.txt`` for ``--epochs`` x ``--episodes-per-epoch`` episodes, scoring
   validation episodes (``val.txt``) after every epoch; the best epoch's weights are kept and give the number of
   episodes;
2. final (the methods in ``--final``, Prototypical Networks by default): train from scratch on ``trainval.txt``
   for that many episodes (no validation);
3. Lake's protocol (the methods in ``--lake``, Prototypical Networks by default): ``--split background`` selects the
   number of episodes on 5 seeded background alphabets held out of training, then trains on all 964 background
   characters for that many episodes;
4. test: every selected model (trained on the training classes only, so the methods compare like for like), every
   final model, and Euclidean distance on pixels, on the same seeded test episode files (``test.txt``; 5/20-way,
   1/5-shot, 15 queries, ``--episodes`` per setting); and on 20 within-alphabet 20-way one-shot runs in the official
   layout built from ``images_evaluation.zip``, in two sets: runs from the characters no compared model trained or
   validated on (Vinyals' ``train.txt`` holds characters of 8 evaluation alphabets, so 12 alphabets remain) for every
   model, and runs from all 20 evaluation alphabets (Lake's protocol) for the background models and pixels.

The defaults fit the 30-minute budget on 2 threads: 60-way 1-shot 5-query episodes (the shape that learned
fastest per image on validation classes, ``bench/fewshot_shapes.py``) cost about 0.37 s each here (Prototypical
Networks: 949 s for 2,600 episodes in the selection run, 985 s in the final run, 2026-12-02), so 13 epochs of 200
episodes take about 16 minutes; the learning rate halves every 650 episodes (four stages over the budget, where the
paper's 2,000 would never halve). Training seconds (the steps only), validation seconds, decoding and evaluation are recorded separately.
Stages already finished in ``--runs`` are reused (a checkpoint resumes a stage exactly), so an interrupted
run continues where it stopped. Writes ``bench/results/fewshot-omniglot.json``,
``fewshot-omniglot.png`` (accuracy per setting with 95% CIs) and ``fewshot-omniglot-validation.png`` (validation accuracy per
epoch of each selection run).

    python bench/fewshot_omniglot.py [--methods protonet,softmax,triplet] [--final protonet] [--lake protonet] [--threads 2]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from _publish import publish

HERE = Path(__file__).resolve().parent
METHODS = ("protonet", "softmax", "triplet")


def _stage(config, out: Path, **kwargs) -> dict:
    """Run one training stage into ``out``, or reuse it if it finished with the same config (resume if it stopped)."""
    from metrickit.fewshot.run import run_fewshot_training

    results = out / "results.json"
    if results.is_file():
        done = json.loads(results.read_text())
        if done.get("selection", done)["config"] != config.as_dict():  # a two-stage (background) run records the config it selected with
            raise ValueError(f"{out} holds a finished run with another config; remove it or choose another --runs.")
        print(f"reusing {out}", flush=True)
        return done
    resume = any((folder / "checkpoint.safetensors").is_file() for folder in (out, out / "selection"))
    return run_fewshot_training(config, out, resume=resume, overwrite=not resume, **kwargs)


def plot_selection(record: dict, path: Path) -> Path:
    """Validation accuracy per epoch of every method's selection run, from the record's histories."""
    from metrickit.plotting import plot_validation_curves

    from metrickit._config import flatten

    config = flatten(next(iter(record["methods"].values()))["config"])
    return plot_validation_curves({m: e["selection"]["history"] for m, e in record["methods"].items()}, path, key="val_accuracy",
                                  ylabel=f"validation {config['val_n_way']}-way {config['val_n_shot']}-shot accuracy (%), 95% CI",
                                  title="Selection runs on train.txt, scored on val.txt classes", overwrite=True)


def _oneshot(models: dict, folder: Path, seed: int, data_dir, note: str) -> dict:
    """Build (once) runs from the characters none of ``models`` saw, and score every model on them."""
    from metrickit.fewshot.oneshot import MANIFEST, score_runs, make_runs_for_models

    if not folder.is_dir():
        make_runs_for_models([path for path in models.values() if path is not None], folder, n_runs=20, seed=seed, data_dir=data_dir)
    manifest = json.loads((folder / MANIFEST).read_text())
    results = {name: score_runs(folder, path, data_dir=data_dir) for name, path in models.items()}
    return {"note": note, "alphabets": manifest["alphabets"], "n_excluded_characters": manifest["n_excluded_characters"],
            "runs": [{k: r[k] for k in ("run", "alphabet", "characters")} for r in manifest["runs"]],
            "results": {name: {k: r[k] for k in ("errors", "mean_error")} for name, r in results.items()}}


def main(argv=None) -> int:
    from metrickit._provenance import provenance
    from metrickit._threads import limit_threads
    from metrickit.fewshot import FewShotConfig
    from metrickit.fewshot.run import evaluate_fewshot

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--methods", default=",".join(METHODS))
    parser.add_argument("--final", default="protonet", help="methods that also get the final run on trainval.txt")
    parser.add_argument("--lake", default="protonet", help="methods that also train under Lake's protocol (images_background)")
    parser.add_argument("--n-way", type=int, default=60)
    parser.add_argument("--n-shot", type=int, default=1)
    parser.add_argument("--n-query", type=int, default=5)
    parser.add_argument("--episodes-per-epoch", type=int, default=200)
    parser.add_argument("--epochs", type=int, default=13)
    parser.add_argument("--lr-halve-every", type=int, default=650)
    parser.add_argument("--val-n-way", type=int, default=20)
    parser.add_argument("--val-episodes", type=int, default=500)
    parser.add_argument("--n-val-alphabets", type=int, default=5, help="background alphabets held out for Lake's protocol")
    parser.add_argument("--episodes", type=int, default=1000, help="test episodes per setting")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--runs", default=str(HERE.parent / "runs" / "fewshot-omniglot"), help="where the runs go (reused if present)")
    parser.add_argument("--out", default=str(HERE / "results" / "fewshot-omniglot.json"))
    parser.add_argument("--quiet", action="store_true")
    args = parser.parse_args(argv)
    limit_threads(args.threads)
    runs = Path(args.runs)
    started = time.strftime("%Y-%m-%d %H:%M:%S")
    record: dict = {"benchmark": "fewshot-omniglot", "dataset": "omniglot", "seed": args.seed,
                    "splits": {"selection": ["train", "val"], "final": "trainval", "lake": ["background", "held-out background alphabets"],
                               "test": "test"},
                    "final_methods": args.final, "lake_methods": args.lake, "methods": {}}
    models: dict[str, Path | None] = {"euclidean (pixels)": None}
    finals = set(args.final.split(",")) if args.final else set()
    lakes = set(args.lake.split(",")) if args.lake else set()
    for method in args.methods.split(","):
        config = FewShotConfig.from_flat(loss=method, n_way=args.n_way, n_shot=args.n_shot, n_query=args.n_query,
                                         batches_per_epoch=args.episodes_per_epoch, epochs=args.epochs, lr_halve_every=args.lr_halve_every,
                                         val_n_way=args.val_n_way, val_n_shot=1, val_n_query=15, val_episodes=args.val_episodes, seed=args.seed)
        select = _stage(config, runs / f"{method}-select", split="train", val_split="val", data_dir=args.data_dir, quiet=args.quiet)
        best = select["history"][select["best_epoch"] - 1]
        models[f"{method} (train)"] = runs / f"{method}-select" / "model.safetensors"
        entry = {"config": config.as_dict(), "best_epoch": select["best_epoch"], "selected_episodes": select["selected_episodes"],
                 "selection": {k: select[k] for k in ("train_seconds", "val_seconds", "load_seconds", "history")}, "final": None,
                 "lake": None, "best_val_accuracy": best["val_accuracy"], "best_val_ci95": best["val_ci95"],
                 "models": {f"{method} (train)": "selection"}}
        message = f"{method}: selected {select['selected_episodes']} episodes (validation {args.val_n_way}-way 1-shot {best['val_accuracy']:.2%})"
        if method in finals:
            final = _stage(config.with_flat(epochs=select["best_epoch"]), runs / f"{method}-final", split="trainval", val_split=None,
                           data_dir=args.data_dir, quiet=args.quiet)
            models[f"{method} (trainval)"] = runs / f"{method}-final" / "model.safetensors"
            entry["final"] = {k: final[k] for k in ("train_seconds", "load_seconds", "history")}
            entry["models"][f"{method} (trainval)"] = "final"
            message += f"; final run {final['train_seconds']:.0f} s"
        if method in lakes:
            lake = _stage(config, runs / f"{method}-background", split="background", val_split="alphabets",
                          n_val_alphabets=args.n_val_alphabets, data_dir=args.data_dir, quiet=args.quiet)
            models[f"{method} (background)"] = runs / f"{method}-background" / "model.safetensors"
            entry["lake"] = {"val_alphabets": lake["val_alphabets"], "selection": lake["selection"],
                             "final": {k: lake[k] for k in ("train_seconds", "load_seconds", "history", "n_train_classes")}}
            entry["models"][f"{method} (background)"] = "lake"
            message += (f"; Lake's protocol: selected {lake['selection']['selected_episodes']} episodes on held-out alphabets, "
                        f"final run {lake['train_seconds']:.0f} s")
        record["methods"][method] = entry
        print(message, flush=True)
    test = evaluate_fewshot(models, n_episodes=args.episodes, seed=args.seed, data_dir=args.data_dir,
                            out_dir=runs / "test", overwrite=True)
    lake_models = {name: path for name, path in models.items() if path is None or name.endswith("(background)")}
    oneshot = {
        "common": _oneshot(models, runs / "oneshot-common", args.seed, args.data_dir,
                           "from the evaluation characters that no compared model trained or validated on"),
        "lake": _oneshot(lake_models, runs / "oneshot-lake", args.seed, args.data_dir,
                         "Lake's protocol: from every evaluation alphabet, for the models trained on images_background only"),
    }
    record.update(test=test, oneshot=oneshot, provenance=provenance(), started=started,
                  finished=time.strftime("%Y-%m-%d %H:%M:%S"))
    out = Path(args.out)
    plot_selection(record, out.with_name(f"{out.stem}-validation.png"))
    publish(out, "fewshot-omniglot", record, {"": runs / "test" / "accuracy.png"})
    return 0


if __name__ == "__main__":
    sys.exit(main())
