"""Which training episode shape learns fastest on Omniglot? Prototypical Networks under one equal image budget.

Each candidate N-way K-shot Q-query shape trains conv-4 on ``train.txt`` for the same number of images
(so about the same compute: a training step costs in proportion to the images in the episode) and is
scored on validation episodes (``val.txt``) after every sixth of its budget. The test split is never used.
The shape with the best final validation accuracy is the one the 30-minute protocol run uses.

    python bench/fewshot_shapes.py [--images 240000] [--threads 2]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
SHAPES = ((60, 5, 5), (60, 1, 5), (20, 5, 5), (20, 1, 15))


def main(argv=None) -> int:
    import numpy as np

    from metrickit.reporting import result_text
    from metrickit.runs import write_results
    from metrickit._provenance import provenance
    from metrickit._threads import limit_threads
    from metrickit.datasets.omniglot import load_omniglot
    from metrickit.fewshot import FewShotConfig, evaluate_episodes, make_episodes, train_fewshot

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--images", type=int, default=240_000, help="training images per shape (default 240,000)")
    parser.add_argument("--shapes", default=",".join("x".join(map(str, s)) for s in SHAPES), help="n_way x n_shot x n_query list")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--out", default=str(HERE / "results" / "fewshot-shapes.json"))
    args = parser.parse_args(argv)
    limit_threads(args.threads)
    train, val = load_omniglot("train", data_dir=args.data_dir), load_omniglot("val", data_dir=args.data_dir)
    _, val_codes = np.unique(val.labels, return_inverse=True)
    final_files = {(w, s): make_episodes(val_codes, w, s, 15, 1000, seed=args.seed) for w, s in ((5, 1), (20, 1))}
    rows = []
    for text in args.shapes.split(","):
        n_way, n_shot, n_query = (int(v) for v in text.split("x"))
        per_episode = n_way * (n_shot + n_query)
        episodes = args.images // per_episode
        config = FewShotConfig.from_flat(n_way=n_way, n_shot=n_shot, n_query=n_query, batches_per_epoch=max(1, episodes // 6), epochs=6,
                                         lr_halve_every=10**9, val_n_way=20, val_n_shot=1, val_n_query=15, val_episodes=300, seed=args.seed)
        began = time.perf_counter()
        result = train_fewshot(config, train, val, quiet=True)
        embeddings = result.model.embed(val.X)
        final = {f"{w}-way {s}-shot": evaluate_episodes(embeddings, f).as_dict() for (w, s), f in final_files.items()}
        rows.append({"shape": [n_way, n_shot, n_query], "images_per_episode": per_episode, "episodes": config.loop.batches_per_epoch * 6,
                     "train_seconds": sum(h["seconds"] for h in result.history), "wall_seconds": time.perf_counter() - began,
                     "best_epoch": result.best_epoch, "history": result.history, "validation": final, "config": config.as_dict()})
        print(f"{text:>8}: {rows[-1]['episodes']} episodes in {rows[-1]['train_seconds']:.0f} s; validation "
              + ", ".join(f"{k} {v['accuracy']:.2%} ± {v['ci95']:.2%}" for k, v in final.items()), flush=True)
    best = max(rows, key=lambda r: r["validation"]["20-way 1-shot"]["accuracy"])
    record = {"benchmark": "fewshot-shapes", "dataset": "omniglot", "train_split": "train", "val_split": "val", "images": args.images,
              "seed": args.seed, "rows": rows, "selected": best["shape"],
              "provenance": provenance(), "finished": time.strftime("%Y-%m-%d %H:%M:%S")}
    print(result_text(write_results(args.out, "fewshot-shapes", record), args.out))
    print(f"selected {'x'.join(map(str, best['shape']))}; wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
