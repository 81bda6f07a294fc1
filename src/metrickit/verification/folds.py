"""Cross-identity folds: test identities never seen in training, validation identities held out of the training part."""

from __future__ import annotations

import numpy as np

from metrickit.datasets.identity_split import IdentitySplit

__all__ = ["FOLDS", "final_fold", "make_folds"]

# The protocol of each dataset: (folds, validation identities held out of each fold's training part).
FOLDS = {"orl": (6, 5), "svc2004": (3, 5)}


def make_folds(identities, n_folds: int, n_val: int, seed: int = 0) -> list[IdentitySplit]:
    """Split the identities, shuffled by ``seed``, into ``n_folds`` test groups of (nearly) equal size; in each fold,
    ``n_val`` of the other identities (drawn with ``(seed, fold)``) validate and the rest train."""
    names = sorted(set(np.asarray(identities).tolist()), key=str)
    if not 2 <= n_folds <= len(names):
        raise ValueError(f"`n_folds` must lie between 2 and the number of identities ({len(names)}); got {n_folds}.")
    order = np.random.default_rng(seed).permutation(len(names))
    folds = []
    for k, test in enumerate(np.array_split(order, n_folds)):
        rest = np.setdiff1d(order, test)
        if not 2 <= n_val <= len(rest) - 2:
            raise ValueError(f"`n_val` ({n_val}) must be at least 2 and leave at least 2 of the {len(rest)} training identities to train on.")
        val = np.random.default_rng([seed, k]).choice(rest, n_val, replace=False)
        fit = np.setdiff1d(rest, val)
        pick = lambda idx: sorted((names[i] for i in idx), key=_natural)  # noqa: E731
        folds.append(IdentitySplit(seed, pick(test), pick(val), pick(fit), index=k))
    return folds


def final_fold(identities, n_val: int, seed: int = 0) -> IdentitySplit:
    """The split of the model to use after cross-validation: ``n_val`` seeded validation identities (drawn from the stream
    after the folds' ones), which choose the epoch or PCA size and set the threshold; every other identity trains."""
    names = sorted(set(np.asarray(identities).tolist()), key=str)
    if not 2 <= n_val <= len(names) - 2:
        raise ValueError(f"`n_val` ({n_val}) must be at least 2 and leave at least 2 of the {len(names)} identities to train on.")
    val = np.random.default_rng([seed, 1 << 20]).choice(len(names), n_val, replace=False)
    pick = lambda idx: sorted((names[i] for i in idx), key=_natural)  # noqa: E731
    return IdentitySplit(seed, [], pick(val), pick(np.setdiff1d(np.arange(len(names)), val)))


def _natural(name: str) -> tuple:
    """'s2' before 's10'."""
    head = name.rstrip("0123456789")
    return (head, int(name[len(head):]) if name[len(head):] else -1)
