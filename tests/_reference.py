"""Brute-force oracles: slow loops over single points and triplets, for tiny inputs only."""

from __future__ import annotations

import numpy as np


def lmnn_objective_bruteforce(X, y, L, n_neighbors, margin, push_weight):
    """eps(L) by explicit loops over i, its targets j and every other-class l."""
    X = np.asarray(X, dtype=float)
    y = np.asarray(y)
    n = len(X)
    Z = X @ np.asarray(L).T
    pull, push = 0.0, 0.0
    for i in range(n):
        same = [j for j in range(n) if j != i and y[j] == y[i]]
        same.sort(key=lambda j: (np.sum((X[i] - X[j]) ** 2), j))
        for j in same[:n_neighbors]:
            dij = np.sum((Z[i] - Z[j]) ** 2)
            pull += dij
            for l in range(n):
                if y[l] != y[i]:
                    push += max(0.0, margin + dij - np.sum((Z[i] - Z[l]) ** 2))
    return (1 - push_weight) * pull + push_weight * push


def triplets_bruteforce(E, y, margin, rule, squared=True, R=None, ry=None):
    """Triplets (a, p, n) and their losses by loops; ``rule`` in {'all', 'violating', 'semihard'}."""
    E = np.asarray(E, dtype=float)
    same = R is None
    R, ry = (E, np.asarray(y)) if same else (np.asarray(R, dtype=float), np.asarray(ry))
    found, losses = [], []
    for a in range(len(E)):
        for p in range(len(R)):
            if ry[p] != y[a] or (same and p == a):
                continue
            for n in range(len(R)):
                if ry[n] == y[a]:
                    continue
                dap, dan = np.sum((E[a] - R[p]) ** 2), np.sum((E[a] - R[n]) ** 2)
                if not squared:
                    dap, dan = np.sqrt(dap), np.sqrt(dan)
                keep = {"all": True, "violating": dan - dap < margin, "semihard": 0 < dan - dap <= margin}[rule]
                if keep:
                    found.append((a, p, n))
                    losses.append(max(0.0, dap - dan + margin))
    return found, np.array(losses)


def contrastive_bruteforce(E, y, margin):
    """Per-pair contrastive losses over unordered pairs i < j, positives first then negatives (each in (i, j) order)."""
    E = np.asarray(E, dtype=float)
    pos, neg = [], []
    for i in range(len(E)):
        for j in range(i + 1, len(E)):
            d = np.sqrt(np.sum((E[i] - E[j]) ** 2))
            if y[i] == y[j]:
                pos.append(d**2)
            else:
                neg.append(max(0.0, margin - d) ** 2)
    return np.array(pos + neg)
