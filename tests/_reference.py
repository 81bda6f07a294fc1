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
