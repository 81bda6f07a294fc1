"""A learned signature embedding: a 1-D convolutional network over per-point features, trained writer-independently
with contrastive or triplet loss by the package's one training loop (:func:`metrickit.training.engine.fit`).

Inputs are the padded per-point features with the padding mask as one more channel (``(n, longest, features + 1)``),
so the loop's batches stay plain tensors; the network pools only over real points (masked mean and max). Batches hold
``writers_per_batch`` writers with ``per_writer`` genuine signatures and ``per_writer`` skilled forgeries each. A
forgery is a negative for its own writer only: the pairs and triplets are genuine-genuine of one writer (positive),
genuine of different writers (negative) and a writer's genuine with that writer's forgery (negative); forgeries are
never paired with each other or with other writers' signatures.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterator, Sequence

import numpy as np
import torch
from torch import nn

from metrickit._types import PairIndices, TripletIndices

__all__ = ["SequenceEmbedder", "SignatureObjective", "WriterBatches", "embed_features", "fit_sequence_embedder", "padded_inputs",
           "signature_pairs"]


def padded_inputs(features: Sequence[np.ndarray]) -> torch.Tensor:
    """(n, longest, features + 1) float32: each sequence zero-padded, its mask (1 at real points) as the last channel."""
    from metrickit.datasets.trajectories import pad_sequences

    padded, lengths = pad_sequences(features, np.float32)
    mask = (np.arange(padded.shape[1]) < lengths[:, None]).astype(np.float32)
    return torch.from_numpy(np.concatenate([padded, mask[:, :, None]], axis=2))


class SequenceEmbedder(nn.Module):
    """Conv1d blocks (kernel 5, BatchNorm, ReLU; the second and third dilated 2 and 4) with the padding zeroed after
    each, masked mean and max pooling, a linear map to ``embedding_dim``, L2-normalised. Input (n, length,
    features + 1), the last channel the mask."""

    def __init__(self, n_features: int, embedding_dim: int = 64, width: int = 64):
        super().__init__()
        self.n_features, self.embedding_dim, self.width = n_features, embedding_dim, width
        self.blocks = nn.ModuleList(
            nn.Sequential(nn.Conv1d(n_features if k == 0 else width, width, 5, padding=2 * dilation, dilation=dilation),
                          nn.BatchNorm1d(width), nn.ReLU())
            for k, dilation in enumerate((1, 2, 4)))
        self.head = nn.Linear(2 * width, embedding_dim)

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        if inputs.ndim != 3 or inputs.shape[-1] != self.n_features + 1:
            raise ValueError(f"expected (n, length, {self.n_features} features + 1 mask channel); got shape {tuple(inputs.shape)}.")
        mask = inputs[..., -1:].transpose(1, 2)  # (n, 1, length)
        hidden = inputs[..., :-1].transpose(1, 2)
        for block in self.blocks:  # padding is zeroed after every block, so the next convolution sees what it would alone
            hidden = block(hidden) * mask
        mean = hidden.sum(-1) / mask.sum(-1).clamp_min(1)
        peak = hidden.masked_fill(mask == 0, float("-inf")).amax(-1)
        return nn.functional.normalize(self.head(torch.cat([mean, peak], 1)), dim=1)


def signature_pairs(codes: torch.Tensor) -> tuple[PairIndices, TripletIndices]:
    """Pairs and triplets of a batch under the rule in the module docstring; ``codes`` = 2 x writer + forged."""
    writer, forged = codes // 2, codes % 2 == 1
    same = writer[:, None] == writer[None, :]
    genuine_pair = ~forged[:, None] & ~forged[None, :]
    upper = torch.triu(torch.ones_like(same), diagonal=1)
    positive = same & genuine_pair & upper
    negative = ((~same & genuine_pair) | (same & (forged[:, None] ^ forged[None, :]))) & upper
    pairs = PairIndices(*torch.nonzero(positive, as_tuple=True), *torch.nonzero(negative, as_tuple=True))
    anchor_positive = same & genuine_pair & ~torch.eye(len(codes), dtype=torch.bool, device=codes.device)
    anchor_negative = (~same & genuine_pair) | (same & ~forged[:, None] & forged[None, :])
    a, p, n = torch.nonzero(anchor_positive[:, :, None] & anchor_negative[:, None, :], as_tuple=True)
    return pairs, TripletIndices(a, p, n)


class SignatureObjective(nn.Module):
    """Contrastive (margin m on distances) or triplet (margin alpha on squared distances) loss on :func:`signature_pairs`."""

    def __init__(self, loss: str = "contrastive", margin: float | None = None):
        super().__init__()
        from metrickit.losses import ContrastiveLoss, TripletMarginLoss

        if loss not in ("contrastive", "triplet"):
            raise ValueError(f"`loss` must be 'contrastive' or 'triplet'; got {loss!r}.")
        self.kind = loss
        self.loss = ContrastiveLoss(0.5 if margin is None else margin) if loss == "contrastive" else TripletMarginLoss(0.2 if margin is None else margin)

    def forward(self, embeddings: torch.Tensor, codes: torch.Tensor) -> tuple[torch.Tensor, float | None]:
        pairs, triplets = signature_pairs(codes)
        loss = self.loss(embeddings, indices=pairs if self.kind == "contrastive" else triplets)
        return loss, self.loss.active_fraction


@dataclass
class WriterBatches:
    """Batches of ``writers_per_batch`` writers x (``per_writer`` genuine + ``per_writer`` forgeries), seeded by epoch."""

    codes: np.ndarray
    writers_per_batch: int = 4
    per_writer: int = 4
    batches_per_epoch: int = 20
    seed: int = 0
    epoch: int = 0

    def __post_init__(self) -> None:
        self.codes = np.asarray(self.codes)
        writers = np.unique(self.codes // 2)
        usable = [w for w in writers if (self.codes == 2 * w).sum() >= 2 and (self.codes == 2 * w + 1).sum() >= 1]
        if len(usable) < self.writers_per_batch:
            raise ValueError(f"{len(usable)} writers have 2 genuine signatures and a forgery; a batch needs {self.writers_per_batch}.")
        self.writers = np.array(usable)

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __len__(self) -> int:
        return self.batches_per_epoch

    def __iter__(self) -> Iterator[list[int]]:
        rng = np.random.default_rng([self.seed, self.epoch])
        for _ in range(self.batches_per_epoch):
            batch = []
            for writer in rng.choice(self.writers, self.writers_per_batch, replace=False):
                for code in (2 * writer, 2 * writer + 1):
                    members = np.flatnonzero(self.codes == code)
                    batch += rng.choice(members, min(self.per_writer, len(members)), replace=False).tolist()
            yield batch


def fit_sequence_embedder(features: Sequence[np.ndarray], writers: np.ndarray, forged: np.ndarray, *, loss: str = "contrastive",
                          margin: float | None = None, embedding_dim: int = 64, epochs: int = 30, batches_per_epoch: int = 20,
                          learning_rate: float = 1e-3, seed: int = 0, quiet: bool = True) -> tuple[SequenceEmbedder, list[dict]]:
    """Train a :class:`SequenceEmbedder` on training writers' signatures (per-point features) with the package's loop;
    returns it (the last epoch's weights: there are no validation writers here to choose an epoch) and the history."""
    from metrickit.training.config import LoopConfig
    from metrickit.training.engine import fit

    names = {w: k for k, w in enumerate(sorted(set(np.asarray(writers).astype(str).tolist())))}
    codes = np.array([2 * names[w] + int(f) for w, f in zip(np.asarray(writers).astype(str), forged)])
    settings = LoopConfig(epochs=epochs, batches_per_epoch=batches_per_epoch, learning_rate=learning_rate, seed=seed)
    result = fit(settings, lambda: SequenceEmbedder(features[0].shape[1], embedding_dim), lambda model: SignatureObjective(loss, margin),
                 WriterBatches(codes, batches_per_epoch=batches_per_epoch, seed=seed), padded_inputs(features),
                 torch.as_tensor(codes), quiet=quiet)
    return result.model, result.history


def embed_features(model: SequenceEmbedder, features: Sequence[np.ndarray], block: int = 256) -> np.ndarray:
    """(n, embedding_dim) float64 embeddings of per-point feature sequences, ``block`` at a time."""
    model.eval()
    with torch.no_grad():
        parts = [model(padded_inputs(features[start : start + block])).numpy() for start in range(0, len(features), block)]
    return np.concatenate(parts).astype(np.float64)
