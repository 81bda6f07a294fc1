"""Person re-identification on the Market-1501 subset: every method on the same person splits.

For each of 5 seeds the 100 persons split into 50 unseen test persons, 10 validation persons and 40 training
persons (``metrickit reid train``). Methods: Euclidean on pixels, stripe colour histograms + PCA + LMNN, a
softmax-classifier embedding and a batch-hard triplet embedder (conv-4, 128 x 64, flips, P x K batches).
``metrickit reid eval`` scores each on its split's test persons (one query per person and camera, the lowest frame;
gallery: all their images; same person and camera ignored), with and without k-reciprocal re-ranking; mean ± sd
over seeds. This subset is small: a plumbing check, not a comparison with published Market-1501 results.

    python bench/reid.py [--threads 2]

Writes ``bench/results/reid-market1501-subset.json`` with ``-cmc.png`` and ``-projection.png`` beside it.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from _publish import publish

HERE = Path(__file__).resolve().parent
METHODS = ("euclidean", "lmnn", "softmax", "triplet")


def main(argv=None) -> int:
    from metrickit._provenance import provenance
    from metrickit._threads import limit_threads
    from metrickit.reid import ReidConfig, evaluate_reid_runs, run_reid_training

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--methods", default=",".join(METHODS))
    parser.add_argument("--seeds", default="0,1,2,3,4")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--runs", default=str(HERE.parent / "runs" / "reid"), help="where the runs go (reused if present)")
    parser.add_argument("--out", default=str(HERE / "results" / "reid-market1501-subset.json"))
    parser.add_argument("--quiet", action="store_true")
    args = parser.parse_args(argv)
    limit_threads(args.threads)
    seeds = [int(s) for s in args.seeds.split(",")]
    started = time.strftime("%Y-%m-%d %H:%M:%S")
    runs, training = {}, {}
    for method in args.methods.split(","):
        config = ReidConfig(method=method)
        out = Path(args.runs) / method
        done = out / "results.json"
        if done.is_file() and json.loads(done.read_text())["config"] == config.as_dict():
            print(f"reusing {out}", flush=True)
            record = json.loads(done.read_text())
        else:
            record = run_reid_training(config, out, seeds=seeds, data_dir=args.data_dir, overwrite=True, quiet=args.quiet)
        runs[method] = out
        training[method] = {"config": record["config"], "train_seconds": record["train_seconds"],
                            "repeats": [{k: r[k] for k in ("split", "val_map", "train_seconds", "pca", "best_epoch") if k in r} for r in record["repeats"]]}
        print(f"{method}: trained {len(record['repeats'])} seeds in {record['train_seconds']:.0f} s", flush=True)
    report_dir = Path(args.runs) / "report"
    results = evaluate_reid_runs(runs, rerank=True, data_dir=args.data_dir, out_dir=report_dir, overwrite=True)
    results.update(benchmark="reid-market1501-subset", training=training, seeds=seeds, provenance=provenance(), started=started, finished=time.strftime("%Y-%m-%d %H:%M:%S"))
    publish(args.out, "reid-benchmark", results, {name: report_dir / f"{name}.png" for name in ("cmc", "projection")})
    return 0


if __name__ == "__main__":
    sys.exit(main())
