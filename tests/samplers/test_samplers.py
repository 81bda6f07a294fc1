import re

import numpy as np
import pytest

from metrickit.samplers import ClassBalancedBatchSampler, EpisodeSampler, split_episode

LABELS = np.repeat(np.arange(10), 7)[np.random.default_rng(0).permutation(70)]


class TestClassBalancedBatchSampler:
    def test_batches_hold_p_classes_of_k_distinct_samples(self):
        sampler = ClassBalancedBatchSampler(LABELS, n_classes=4, n_per_class=3, seed=1)
        batches = list(sampler)
        assert len(batches) == len(sampler) == 70 // 12
        for batch in batches:
            assert len(batch) == len(set(batch)) == 12
            labels = LABELS[batch]
            assert len(set(labels)) == 4
            assert all((labels == c).sum() == 3 for c in set(labels))

    def test_seed_and_epoch_determine_the_batches(self):
        a = ClassBalancedBatchSampler(LABELS, 4, 3, seed=1)
        b = ClassBalancedBatchSampler(LABELS, 4, 3, seed=1)
        assert list(a) == list(b)
        a.set_epoch(1)
        assert list(a) != list(b)
        b.set_epoch(1)
        assert list(a) == list(b)

    def test_init_raises_when_a_class_has_too_few_samples(self):
        labels = np.array([0, 0, 0, 1, 1, 2, 2, 2])
        with pytest.raises(ValueError, match=re.escape("class 1 has 2 sample(s) but n_per_class=3 needs 3 per class")):
            ClassBalancedBatchSampler(labels, 2, 3)

    def test_replace_fills_small_classes_by_drawing_again_and_leaves_large_ones_alone(self):
        labels = np.array([0, 0, 1, 1, 1, 1, 1, 2, 2, 2, 2, 2])
        sampler = ClassBalancedBatchSampler(labels, 3, 4, n_batches=5, seed=0, replace=True)
        for batch in sampler:
            small, large = [i for i in batch if labels[i] == 0], [i for i in batch if labels[i] != 0]
            assert len(small) == 4 and set(small) == {0, 1}  # both images, then two drawn again
            assert len(large) == len(set(large)) == 8
        exact = ClassBalancedBatchSampler(labels[2:], 2, 4, n_batches=3, seed=0)
        again = ClassBalancedBatchSampler(labels[2:], 2, 4, n_batches=3, seed=0, replace=True)
        assert list(exact) == list(again)  # classes with K or more samples are drawn exactly as without replace

    def test_init_raises_when_asking_for_more_classes_than_exist(self):
        with pytest.raises(ValueError, match=re.escape("`n_classes` (11) is more than the 10 classes in `labels`.")):
            ClassBalancedBatchSampler(LABELS, 11, 2)

    @pytest.mark.parametrize("bad", [0, -1, 2.5, True])
    def test_counts_must_be_positive_integers(self, bad):
        with pytest.raises(ValueError, match="`n_per_class` must be an integer >= 1"):
            ClassBalancedBatchSampler(LABELS, 2, bad)


class TestEpisodeSampler:
    def test_episode_layout(self):
        sampler = EpisodeSampler(LABELS, n_way=5, n_shot=2, n_query=3, n_episodes=4, seed=0)
        cut = split_episode(5, 2, 3)
        for batch in sampler:
            batch = np.asarray(batch)
            assert len(batch) == len(set(batch)) == 25
            support, query = LABELS[batch[cut.support]], LABELS[batch[cut.query]]
            classes = support[:: 2]
            assert len(set(classes)) == 5
            np.testing.assert_array_equal(support, np.repeat(classes, 2))
            np.testing.assert_array_equal(query, np.repeat(classes, 3))
            np.testing.assert_array_equal(cut.query_labels, np.repeat(np.arange(5), 3))

    def test_seed_and_epoch_determine_the_episodes(self):
        a, b = EpisodeSampler(LABELS, 5, 1, 2, 3, seed=7), EpisodeSampler(LABELS, 5, 1, 2, 3, seed=7)
        assert list(a) == list(b)
        a.set_epoch(2)
        assert list(a) != list(b)

    def test_init_raises_when_a_class_cannot_fill_an_episode(self):
        with pytest.raises(ValueError, match=re.escape("but n_shot + n_query = 8 needs 8 per class")):
            EpisodeSampler(LABELS, 5, 5, 3, 10)

    def test_init_raises_when_n_way_exceeds_the_classes(self):
        with pytest.raises(ValueError, match=re.escape("`n_way` (20) is more than the 10 classes in `labels`.")):
            EpisodeSampler(LABELS, 20, 1, 1, 10)


def test_episode_count_is_named():
    with pytest.raises(ValueError, match="`n_episodes` must be an integer >= 1; got 0."):
        EpisodeSampler(LABELS, 2, 1, 1, 0)
