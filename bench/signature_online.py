"""On-line signature verification on SVC2004 Task 2 (users 1-30), the competition's own protocol.

Writers in 3 folds of 10 (users 1-10, 11-20, 21-30); per user 10 seeded trials of 5 enrolment signatures from
S1-S10, tested on genuine S11-S20, skilled forgeries S21-S40 and 20 random forgeries (genuine signatures of the same
fold's other users), identical for every method. EER per user and trial, averaged, mean +/- sd over the 30 fold x
trial averages, and each method's difference from DTW paired by fold and trial. For each test fold the validation
writers are the first half of the next fold and the training writers the other 15; a learned method trains on the
15, its settings are chosen on the validation writers' trials (nested: the test writers choose nothing), and the
global threshold is calibrated there too. Methods: DTW on per-point features (banded, --window points); Euclidean on
the features resampled to 64 points; DTW with a local Mahalanobis cost learned by LMNN from aligned training
signatures (grid: full or diagonal M, push weight 0.5 or 0.9); a 1-D convolutional sequence embedder trained with
contrastive or triplet loss (chosen per fold), forgeries negatives for their own writer only. Also seconds per verification (one probe's features
and its distances to 5 references) and for the whole protocol; with --peer-python (an interpreter with tslearn), the
DTW library choice: dtaidistance (ours) against tslearn on the same pairs, unbanded, distances compared, in a
subprocess with time and memory limits.

    python bench/signature_online.py [--methods dtw,euclidean,dtw-lmnn,embedder] [--peer-python /path/to/python-with-tslearn]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from _limits import run_limited
from _publish import publish

HERE = Path(__file__).resolve().parent
COMPETITION = {"task1_best_skilled_eer": 0.0284, "task2_best_skilled_eer": 0.0289,
               "source": "Yeung et al., SVC2004, ICBA 2004 (LNCS 3072) abstract; user set not named there (probably the 60 unreleased users)"}


def learner(name: str, args):
    """Setting name -> learner (chosen per fold on the validation writers); the resampled-Euclidean baseline learns nothing."""
    from metrickit.signatures.evaluate import euclidean_resampled_method
    from metrickit.signatures.learners import signature_learners

    if name == "euclidean":
        return {"plain": lambda training: euclidean_resampled_method(64)}
    return signature_learners(name, window=args.window, seed=args.seed, embedder_epochs=args.embedder_epochs, threads=args.threads)


def transform_for_timing(data, name: str, args):
    """The local cost a method's verification uses (dtw-lmnn: one learned on users 11-30, for timing only; the
    embedder: an untrained network of the same shape, as fast as a trained one)."""
    if name == "embedder":
        from metrickit.signatures.embedder import SequenceEmbedder
        from metrickit.signatures.features import feature_names

        return SequenceEmbedder(len(feature_names(data.channels)))
    if name != "dtw-lmnn":
        return None
    from metrickit.signatures.dtw_lmnn import DTWMetricLearner
    from metrickit.signatures.evaluate import features_of

    training = data.of([f"user{u}" for u in range(11, 31)])
    return DTWMetricLearner(args.window, n_alignments=1, max_iter=50).fit(features_of(training), training.labels, training.extra["sample"],
                                                                          training.extra["forged"]).components_


def seconds_per_verification(data, name: str, window: int, transform=None, repeats: int = 200) -> float:
    """One probe: its features, then its distances to 5 references (whose features are enrolled beforehand)."""
    from metrickit.datasets.trajectories import Trajectory
    from metrickit.signatures.dtw import dtw_cross_distances
    from metrickit.signatures.evaluate import features_of, resample
    from metrickit.signatures.features import signature_features

    sequences = data.sequences()
    references = features_of(data.subset(np.arange(len(sequences)) < 5))
    began = time.perf_counter()
    for k in range(repeats):
        probe = signature_features(Trajectory(sequences[5 + k % (len(sequences) - 5)].astype(np.float64), data.channels))
        if name.startswith("dtw"):
            dtw_cross_distances([probe], references, window=window, transform=transform)
        elif name == "embedder":
            from metrickit.signatures.embedder import embed_features

            if k == 0:
                enrolled = embed_features(transform, references)
            np.linalg.norm(enrolled - embed_features(transform, [probe]), axis=1)
        else:
            flat = resample(probe, 64).ravel()
            np.linalg.norm(np.stack([resample(r, 64).ravel() for r in references]) - flat, axis=1)
    return (time.perf_counter() - began) / repeats


def paired_difference(rows: list[dict], baseline: str = "dtw") -> None:
    """Each method's skilled and random EER minus the baseline's, paired by fold and trial: mean and standard error."""
    base = next((r for r in rows if r["method"] == baseline), None)
    if base is None:
        return
    for row in rows:
        if row is base:
            continue
        for kind in ("skilled", "random"):
            ours = np.array([t[f"eer_{kind}"] for f in row["folds"] for t in f["per_trial"]])
            theirs = np.array([t[f"eer_{kind}"] for f in base["folds"] for t in f["per_trial"]])
            by_fold = (ours - theirs).reshape(len(row["folds"]), -1).mean(1)
            row[f"vs_{baseline}_{kind}"] = {"mean": float((ours - theirs).mean()), "per_fold": by_fold.tolist(),
                                            "se_over_folds": float(by_fold.std(ddof=1) / np.sqrt(len(by_fold)))}


def library_comparison(data, peer_python: str, limit_s: float = 600, mem_gb: float = 4) -> dict:
    """dtaidistance (through metrickit) against tslearn in ``peer_python`` on user 1's 10 x 40 pairs, unbanded."""
    from metrickit.signatures.dtw import dtw_cross_distances
    from metrickit.signatures.evaluate import features_of

    features = features_of(data.of(["user1"]))
    queries, references = features[:10], features
    began = time.perf_counter()
    ours = dtw_cross_distances(queries, references, window=10_000)
    ours_seconds = time.perf_counter() - began
    with tempfile.TemporaryDirectory() as folder:
        source = Path(folder) / "sequences.npz"
        np.savez(source, **{f"q{k}": q for k, q in enumerate(queries)}, **{f"r{k}": r for k, r in enumerate(references)})
        out = Path(folder) / "peer.json"
        status = run_limited([peer_python, str(HERE / "_dtw_peer_worker.py"), str(source), str(out)], out, limit_s, mem_gb)
        peer = json.loads(out.read_text()) if status is None else None
    version = subprocess.run([peer_python, "-c", "import tslearn; print(tslearn.__version__)"], capture_output=True, text=True).stdout.strip()
    row = {"pairs": int(ours.size), "dtaidistance_seconds_per_pair": ours_seconds / ours.size, "tslearn_version": version or None,
           "tslearn_status": status or "ok"}
    if peer is not None:
        theirs = np.asarray(peer["distances"])
        row.update(tslearn_seconds_per_pair=peer["seconds"] / ours.size, max_abs_difference=float(np.abs(theirs - ours).max()),
                   speedup=peer["seconds"] / ours_seconds)
    print(f"DTW libraries: {row}", flush=True)
    return row


def main(argv=None) -> int:
    from metrickit._provenance import provenance
    from metrickit._threads import limit_threads
    from metrickit.datasets.trajectories import load_svc2004_online
    from metrickit.signatures.evaluate import run_protocol

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", help="root of the shared datasets (default: $METRICKIT_DATA, else ../shared/data)")
    parser.add_argument("--methods", default="dtw,euclidean,dtw-lmnn,embedder")
    parser.add_argument("--embedder-epochs", type=int, default=30, help="epochs of 20 writer-balanced batches")
    parser.add_argument("--trials", type=int, default=10)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--window", type=int, default=20, help="DTW band in points (Sakoe-Chiba, widened by the length difference)")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--peer-python", help="an interpreter with tslearn, for the DTW library comparison")
    parser.add_argument("--out", default=str(HERE / "results" / "signature-online.json"))
    args = parser.parse_args(argv)
    limit_threads(args.threads)
    data = load_svc2004_online(args.data_dir)
    rows = []
    for name in args.methods.split(","):
        began = time.perf_counter()
        result = run_protocol(data, learner(name, args), n_trials=args.trials, seed=args.seed)
        seconds = time.perf_counter() - began
        timing = seconds_per_verification(data, name, args.window, transform_for_timing(data, name, args))
        row = {"method": name, "protocol_seconds": seconds, "seconds_per_verification": timing,
               "summary": result["summary"], "folds": [{key: fold[key] for key in ("fold", "test_writers", "validation_writers", "per_trial",
                                                                                   "training_writers", "chosen", "validation_eer_skilled", "failed", "per_user",
                                                                                   "global_threshold")}
                                                  for fold in result["folds"]]}
        rows.append(row)
        print(f"{name}: {row['summary']} ({seconds:.1f} s)", flush=True)
    paired_difference(rows)
    record = {"benchmark": "signature-online", "dataset": "svc2004_online (Task 2, users 1-30)", "trials": args.trials, "seed": args.seed,
              "window": args.window, "threads": args.threads, "folds": "users 1-10, 11-20, 21-30; validation writers: the first half of the next fold; training: the other 15",
              "competition": COMPETITION, "rows": rows,
              "libraries": library_comparison(data, args.peer_python) if args.peer_python else None,
              "provenance": provenance(), "finished": time.strftime("%Y-%m-%d %H:%M:%S")}
    publish(args.out, "signature-online", record)
    return 0


if __name__ == "__main__":
    sys.exit(main())
