"""Peer DTW for bench/signature_online.py: tslearn's dtw on the same pairs, in its own interpreter.

    python _dtw_peer_worker.py sequences.npz out.json
"""

import json
import sys
import time

import numpy as np
from tslearn.metrics import dtw


def main() -> None:
    source, out = sys.argv[1], sys.argv[2]
    with np.load(source) as stored:
        queries = [stored[f"q{k}"] for k in range(sum(name.startswith("q") for name in stored.files))]
        references = [stored[f"r{k}"] for k in range(sum(name.startswith("r") for name in stored.files))]
    dtw(queries[0], references[0])  # compile (numba) outside the timing
    began = time.perf_counter()
    distances = [[dtw(q, r) for r in references] for q in queries]
    seconds = time.perf_counter() - began
    with open(out, "w") as handle:
        json.dump({"distances": distances, "seconds": seconds}, handle)


if __name__ == "__main__":
    main()
