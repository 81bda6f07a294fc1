import numpy as np
import pytest
import torch

from metrickit.fewshot import EpisodeFile, evaluate_episodes, make_episodes, prototype_logits, prototypes, prototypical_loss

LABELS = np.repeat(np.arange(12), 6)


def test_prototypes_are_class_means_and_logits_negative_squared_distances():
    support = torch.tensor([[0.0, 0.0], [2.0, 0.0], [0.0, 4.0], [0.0, 6.0]])
    protos = prototypes(support, torch.tensor([0, 0, 1, 1]), 2)
    torch.testing.assert_close(protos, torch.tensor([[1.0, 0.0], [0.0, 5.0]]))
    torch.testing.assert_close(prototype_logits(torch.tensor([[1.0, 1.0]]), protos), torch.tensor([[-1.0, -17.0]]))


def test_prototypes_refuse_bad_episode_labels():
    with pytest.raises(ValueError, match=r"`support_labels` must lie in 0..1 \(episode labels\); got 0..2"):
        prototypes(torch.zeros(3, 2), torch.tensor([0, 1, 2]), 2)
    with pytest.raises(ValueError, match="class 1 has none"):
        prototypes(torch.zeros(2, 2), torch.tensor([0, 0]), 2)


def test_loss_and_accuracy_on_separable_episode():
    support = torch.tensor([[0.0], [0.2], [5.0], [5.2]], requires_grad=True)
    query = torch.tensor([[0.1], [5.1]])
    loss, accuracy = prototypical_loss(support, torch.tensor([0, 0, 1, 1]), query, torch.tensor([0, 1]), 2)
    loss.backward()
    assert accuracy.item() == 1.0 and loss.item() < 1e-3 and support.grad is not None


def test_episode_file_is_seeded_saved_and_hashed(tmp_path):
    a = make_episodes(LABELS, n_way=5, n_shot=1, n_query=3, n_episodes=20, seed=4)
    b = make_episodes(LABELS, n_way=5, n_shot=1, n_query=3, n_episodes=20, seed=4)
    assert a.sha256() == b.sha256() != make_episodes(LABELS, 5, 1, 3, 20, seed=5).sha256()
    assert a.support.shape == (20, 5) and a.query.shape == (20, 15)
    for support, query in zip(a.support, a.query):  # queries of a class come from that class, and differ from its support
        assert np.array_equal(LABELS[support], LABELS[query][::3]) and not set(support) & set(query)
    loaded = EpisodeFile.load(a.save(tmp_path / "episodes.npz"))
    assert loaded.sha256() == a.sha256()
    (tmp_path / "bad.npz").write_bytes(b"garbage")
    with pytest.raises(ValueError, match="bad.npz is not a readable episode file"):
        EpisodeFile.load(tmp_path / "bad.npz")


def test_episodic_accuracy_matches_a_loop_and_has_a_confidence_interval():
    rng = np.random.default_rng(0)
    embeddings = rng.normal(size=(len(LABELS), 4)) + LABELS[:, None] * 0.7
    episodes = make_episodes(LABELS, 5, 2, 3, 50, seed=1)
    report = evaluate_episodes(embeddings, episodes, batch=7)
    expected = []
    for support, query in zip(episodes.support, episodes.query):
        protos = embeddings[support].reshape(5, 2, 4).mean(1)
        predicted = ((embeddings[query][:, None, :] - protos[None]) ** 2).sum(-1).argmin(1)
        expected.append(np.mean(predicted == np.repeat(np.arange(5), 3)))
    assert report.accuracy == pytest.approx(np.mean(expected))
    assert report.ci95 == pytest.approx(1.96 * np.std(expected, ddof=1) / np.sqrt(50))
    assert report.episode_sha256 == episodes.sha256() and report.n_episodes == 50
