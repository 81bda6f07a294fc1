import numpy as np
import pytest
import torch

from metrickit.signatures.embedder import SequenceEmbedder, WriterBatches, fit_sequence_embedder, padded_inputs, signature_pairs


def test_forgeries_are_negatives_for_their_own_writer_only():
    codes = torch.tensor([0, 0, 1, 1, 2, 2, 3])  # writer 0: two genuine, two forged; writer 1: two genuine, one forged
    pairs, triplets = signature_pairs(codes)
    positive = {tuple(sorted(p)) for p in zip(pairs.pos_anchor.tolist(), pairs.positive.tolist())}
    negative = {tuple(sorted(p)) for p in zip(pairs.neg_anchor.tolist(), pairs.negative.tolist())}
    assert positive == {(0, 1), (4, 5)}
    assert negative == {(0, 2), (0, 3), (1, 2), (1, 3), (0, 4), (0, 5), (1, 4), (1, 5), (4, 6), (5, 6)}
    writer, forged = codes // 2, codes % 2 == 1
    a, p, n = triplets
    assert not forged[a].any() and not forged[p].any() and torch.all(writer[a] == writer[p]) and torch.all(a != p)
    assert torch.all(~forged[n] | (writer[n] == writer[a]))  # a forgery only ever negative for its own writer


def test_writer_batches_hold_genuine_and_forged_signatures_of_each_writer_and_follow_the_epoch():
    codes = np.repeat(np.arange(10), 6)  # 5 writers, 6 genuine + 6 forged each
    batches = WriterBatches(codes, writers_per_batch=3, per_writer=2, batches_per_epoch=4, seed=1)
    first = list(batches)
    assert len(first) == 4 and all(len(b) == 12 for b in first)
    for batch in first:
        writers, counts = np.unique(codes[batch] // 2, return_counts=True)
        assert len(writers) == 3 and np.all(counts == 4) and (codes[batch] % 2).sum() == 6
    assert list(batches) == first
    batches.set_epoch(1)
    assert list(batches) != first
    with pytest.raises(ValueError, match="1 writers have 2 genuine signatures and a forgery"):
        WriterBatches(np.array([0, 0, 1]), writers_per_batch=2)


def test_the_embedding_ignores_padding():
    torch.manual_seed(0)
    model = SequenceEmbedder(3, embedding_dim=8).eval()
    sequences = [np.random.default_rng(0).normal(size=(20, 3)), np.random.default_rng(1).normal(size=(35, 3))]
    together = model(padded_inputs(sequences))
    alone = model(padded_inputs(sequences[:1]))
    torch.testing.assert_close(together[0], alone[0], rtol=1e-5, atol=1e-5)
    assert torch.allclose(together.norm(dim=1), torch.ones(2))
    with pytest.raises(ValueError, match=r"expected \(n, length, 3 features \+ 1 mask channel\)"):
        model(torch.zeros(2, 10, 3))


def test_training_lowers_the_loss_on_a_seeded_toy_set():
    rng = np.random.default_rng(0)
    features, writers, forged = [], [], []
    for w in range(4):
        shape = np.sin(np.linspace(0, 6, 30) * (1 + w))[:, None]
        for s in range(12):
            drift = 1.5 if s >= 6 else 0.0
            features.append(np.hstack([shape + 0.1 * rng.normal(size=(30, 1)), shape + drift + 0.1 * rng.normal(size=(30, 1))]))
            writers.append(f"user{w}")
            forged.append(s >= 6)
    model, history = fit_sequence_embedder(features, np.array(writers), np.array(forged), epochs=4, batches_per_epoch=5, seed=0)
    assert history[-1]["loss"] < history[0]["loss"] and isinstance(model, SequenceEmbedder)
