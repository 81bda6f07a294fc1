"""Verification on unseen identities: faces (AT&T/ORL) and signatures (SVC2004), every method on the same folds.

For each dataset, each method (``euclidean`` on pixels, ``lmnn`` = PCA + LMNN, ``softmax`` classifier embedding,
``contrastive`` Siamese, ``triplet`` semi-hard; the deep ones conv-4 with one budget) is trained on every
cross-identity fold with ``metrickit verify train`` (threshold calibrated on the fold's validation identities), then
once more as the final model on every identity but 5 validation identities (not scored: no identity is left unseen),
and scored with ``metrickit verify eval`` on the fold's test identities: all genuine and impostor pairs (for
signatures, genuine-genuine vs genuine-skilled forgery), ROC AUC, EER, accuracy at the calibrated threshold,
TAR at FAR 1% where there are >= 1,000 impostor pairs, mean ± sd over folds; for signatures also the SVC2004
per-user EER against skilled and random forgeries. Finished runs in ``--runs`` are reused.

    python bench/verification.py [--datasets orl,svc2004] [--threads 2]

Writes ``bench/results/verify-<dataset>.json`` with ``-roc.png``, ``-distances.png`` and ``-projection.png`` beside it.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from _publish import publish

HERE = Path(__file__).resolve().parent
METHODS = ("euclidean", "lmnn", "softmax", "contrastive", "triplet")
FOLD_KEYS = ("split", "threshold", "val", "train_seconds", "pca", "pca_candidates", "best_epoch")
# Deep methods: epochs x batches of 8 classes x 4 images per fold (the signature images are twice the size of the faces).
BUDGETS = {"orl": dict(epochs=15, batches_per_epoch=25), "svc2004": dict(epochs=10, batches_per_epoch=25)}


def main(argv=None) -> int:
    from metrickit._provenance import provenance
    from metrickit._threads import limit_threads
    from metrickit.verification import VerifyConfig, evaluate_verify_runs, run_verify_training

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--datasets", default="orl,svc2004")
    parser.add_argument("--methods", default=",".join(METHODS))
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--runs", default=str(HERE.parent / "runs" / "verification"), help="where the runs go (reused if present)")
    parser.add_argument("--results", default=str(HERE / "results"))
    parser.add_argument("--quiet", action="store_true")
    args = parser.parse_args(argv)
    limit_threads(args.threads)
    for dataset in args.datasets.split(","):
        started = time.strftime("%Y-%m-%d %H:%M:%S")
        runs, training = {}, {}
        for method in args.methods.split(","):
            config = VerifyConfig.from_flat(method=method, seed=args.seed, **BUDGETS[dataset])
            out = Path(args.runs) / dataset / method
            done = out / "results.json"
            if done.is_file() and json.loads(done.read_text())["config"] == config.as_dict():
                print(f"reusing {out}", flush=True)
                record = json.loads(done.read_text())
            else:
                record = run_verify_training(dataset, config, out, data_dir=args.data_dir, overwrite=True, quiet=args.quiet)
            runs[method] = out
            training[method] = {"config": record["config"], "train_seconds": record["train_seconds"],
                                "repeats": [{k: f[k] for k in FOLD_KEYS if k in f} for f in record["repeats"]],
                                "final": {k: record["final"][k] for k in FOLD_KEYS if k in record["final"]} if "final" in record else None}
            print(f"{dataset} {method}: trained {len(record['repeats'])} folds in {record['train_seconds']:.0f} s", flush=True)
        report_dir = Path(args.runs) / dataset / "report"
        results = evaluate_verify_runs(runs, data_dir=args.data_dir, out_dir=report_dir, overwrite=True)
        results.update(benchmark=f"verify-{dataset}", training=training, seed=args.seed, provenance=provenance(), started=started, finished=time.strftime("%Y-%m-%d %H:%M:%S"))
        publish(Path(args.results) / f"verify-{dataset}.json", "verify-benchmark", results,
                {name: report_dir / f"{name}.png" for name in ("roc", "distances", "projection")})
    return 0


if __name__ == "__main__":
    sys.exit(main())
