"""One hyperparameter per loss, the candidates every fair comparison chooses among on validation data.

The losses with a scale (ArcFace, CosFace, sub-center ArcFace) use 30 here: 64, their default, is meant for thousands of
classes, and these tasks train on tens."""

from __future__ import annotations

SCALE = 30.0
GRID: dict[str, dict[str, dict]] = {  # loss -> {candidate name: settings}
    "softmax": {"dim 64": {"embedding_dim": 64}, "dim 128": {"embedding_dim": 128}},
    "contrastive": {f"margin {m}": {"margin": m} for m in (0.5, 1.0)},
    "triplet": {f"margin {m}": {"margin": m} for m in (0.1, 0.2, 0.4)},
    "arcface": {f"margin {m}": {"margin": m, "scale": SCALE} for m in (0.2, 0.5)},
    "cosface": {f"margin {m}": {"margin": m, "scale": SCALE} for m in (0.2, 0.35)},
    "subcenter-arcface": {f"margin {m}": {"margin": m, "scale": SCALE} for m in (0.2, 0.5)},
    "proxy-anchor": {f"alpha {a:g}": {"scale": a} for a in (16.0, 32.0)},
    "multi-similarity": {f"base {b}": {"margin": b} for b in (0.5, 0.7)},
    "supcon": {f"temperature {t}": {"temperature": t} for t in (0.05, 0.1)},
    "ntxent": {f"temperature {t}": {"temperature": t} for t in (0.1, 0.5)},
}
