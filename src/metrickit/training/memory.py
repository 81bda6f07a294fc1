"""Cross-batch memory (XBM, Wang et al. 2020): recent embeddings and labels kept as extra references for a loss."""

from __future__ import annotations

import torch
from torch import nn

from metrickit._validation import check_count

__all__ = ["CrossBatchMemory"]


class CrossBatchMemory(nn.Module):
    """A ring buffer of the last ``size`` embeddings (detached) and their labels.

    Its memory is bounded by construction: ``size * (embedding_dim * 4 + 8)`` bytes, and a loss against it costs
    ``O(batch_size * size)``. Embeddings drift while the network trains, so the memory serves as references only
    after ``warmup`` batches have been pushed (the paper starts it after the first ~1k iterations). The buffers are
    module state: checkpoints keep them, so a resumed run uses the same memory.

    Examples
    --------
    >>> import torch
    >>> memory = CrossBatchMemory(4, 2)
    >>> memory.push(torch.ones(3, 2), torch.tensor([0, 1, 2]))
    >>> memory.push(torch.zeros(2, 2), torch.tensor([3, 4]))  # wraps around: the oldest is overwritten
    >>> memory.references()[1].tolist()
    [4, 1, 2, 3]
    """

    def __init__(self, size: int, embedding_dim: int, *, warmup: int = 0):
        super().__init__()
        size, embedding_dim = check_count(size, "size"), check_count(embedding_dim, "embedding_dim")
        self.size, self.warmup = size, check_count(warmup, "warmup", minimum=0)
        self.register_buffer("embeddings", torch.zeros(size, embedding_dim))
        self.register_buffer("labels", torch.zeros(size, dtype=torch.int64))
        self.register_buffer("state", torch.zeros(3, dtype=torch.int64))  # next slot, slots filled, batches pushed

    @property
    def ready(self) -> bool:
        """Whether the memory holds references and its warm-up is over."""
        return int(self.state[1]) > 0 and int(self.state[2]) >= self.warmup

    def references(self) -> tuple[torch.Tensor, torch.Tensor]:
        """The stored embeddings (n_filled, embedding_dim) and labels (n_filled,)."""
        filled = int(self.state[1])
        return self.embeddings[:filled], self.labels[:filled]

    @torch.no_grad()
    def push(self, embeddings: torch.Tensor, labels: torch.Tensor) -> None:
        """Store a batch, overwriting the oldest entries once full (a batch larger than the memory keeps its last ``size``)."""
        embeddings, labels = embeddings.detach()[-self.size :], labels.detach()[-self.size :]
        start, n = int(self.state[0]), len(embeddings)
        slots = (start + torch.arange(n, device=self.labels.device)) % self.size
        self.embeddings[slots] = embeddings.to(self.embeddings.dtype)
        self.labels[slots] = labels.to(self.labels.device)
        self.state[0] = (start + n) % self.size
        self.state[1] = min(int(self.state[1]) + n, self.size)
        self.state[2] += 1

    def extra_repr(self) -> str:
        return f"size={self.size}, embedding_dim={self.embeddings.shape[1]}, warmup={self.warmup}"
