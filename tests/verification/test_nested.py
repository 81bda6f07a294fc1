"""Nested verification: settings chosen and models trained without the outer test identities, resumable."""

import numpy as np
import pytest

from metrickit.verification import VerifyConfig, identity_eers, nested_splits, nested_verification, paired_difference

QUICK = dict(epochs=1, batches_per_epoch=2, n_classes_per_batch=4, n_per_class=3, embedding_dim=8)


def test_no_inner_fold_or_final_model_touches_the_outer_test_identities():
    identities = [f"s{i}" for i in range(1, 31)]
    splits = nested_splits(identities, 6, 3, 5, seed=0)
    assert sorted(i for outer, _, _ in splits for i in outer.test) == sorted(identities)  # every identity tested once
    for outer, inner, final in splits:
        rest = set(identities) - set(outer.test)
        assert all({*s.test, *s.val, *s.fit} <= rest for s in inner)
        assert final.test == outer.test and {*final.val, *final.fit} == rest and len(final.val) == 5


def test_the_inner_folds_choose_and_the_outer_identities_score_once(orl, tmp_path):
    candidates = {"margin 0.1": VerifyConfig.from_flat(method="triplet", margin=0.1, **QUICK),
                  "margin 0.4": VerifyConfig.from_flat(method="triplet", margin=0.4, **QUICK)}
    lines = []
    result = nested_verification(orl, candidates, n_outer=3, n_inner=2, cache=tmp_path / "cache", log=lines.append)
    assert [f["index"] for f in result["folds"]] == [0, 1, 2]
    for fold in result["folds"]:
        inner = fold["inner"]
        assert fold["chosen"] == min(inner, key=lambda name: inner[name]["eer"]) and len(inner["margin 0.1"]["per_fold"]) == 2
        assert fold["split"]["test"] == fold["test_identities"] and not set(fold["test_identities"]) & {*fold["split"]["fit"], *fold["split"]["val"]}
        assert sorted(r["identity"] for r in fold["identities"]) == sorted(fold["test_identities"])
    assert 0.0 <= result["summary"]["eer"]["mean"] <= 1.0 and len(lines) == 3 * 3
    cached = sorted(p.relative_to(tmp_path / "cache").as_posix() for p in (tmp_path / "cache").rglob("*.json"))
    assert len(cached) == 3 * (2 * 2 + 1)
    again = nested_verification(orl, candidates, n_outer=3, n_inner=2, cache=tmp_path / "cache")  # resumed from the cache
    assert [f["report"] for f in again["folds"]] == [f["report"] for f in result["folds"]]

    from metrickit.reporting import result_text
    from metrickit.runs import tagged

    pixels = nested_verification(orl, {"pixels": VerifyConfig.from_flat(method="euclidean")}, n_outer=3, n_inner=2)
    paired = {"triplet": {"eer": paired_difference([f["report"]["eer"] for f in result["folds"]], [f["report"]["eer"] for f in pixels["folds"]])}}
    record = tagged("verify-nested-benchmark", {"dataset": "orl", "n_outer": 3, "n_inner": 2, "n_val": 5, "baseline": "euclidean",
                                                "methods": {"euclidean": pixels, "triplet": result}, "paired": paired})
    text = result_text(record)
    assert "Face verification, nested: ORL (30 subjects), 3 outer folds of 10" in text and "below by > 2 SE" in text
    assert all(f"s{i} " in text for i in range(1, 31))  # a row per subject


def test_a_single_candidate_skips_the_inner_folds(orl):
    result = nested_verification(orl, {"pixels": VerifyConfig.from_flat(method="euclidean")}, n_outer=3, n_inner=2)
    assert all(f["inner"] == {} and f["chosen"] == "pixels" for f in result["folds"])


def test_identity_eers_single_out_the_identity_that_is_hard_to_verify():
    rng = np.random.default_rng(0)
    centres = np.array([[0.0, 0.0], [10.0, 0.0], [0.0, 10.0]])
    embeddings = np.repeat(centres, 5, axis=0) + rng.normal(scale=0.1, size=(15, 2))
    labels = np.repeat(["a", "b", "c"], 5)
    embeddings[labels == "c"] = rng.normal(scale=8.0, size=(5, 2))  # c's images scatter over everyone's
    rows = {r["identity"]: r for r in identity_eers(embeddings, labels)}
    assert rows["a"]["eer"] == 0.0 and rows["c"]["eer"] > 0.0
    assert rows["a"]["n_genuine"] == 10 and rows["a"]["n_impostor"] == 50


def test_paired_difference_and_its_standard_error():
    diff = paired_difference([0.10, 0.12, 0.08], [0.15, 0.15, 0.15])
    assert diff["per_repeat"] == pytest.approx([-0.05, -0.03, -0.07]) and diff["mean"] == pytest.approx(-0.05)
    assert diff["se"] == pytest.approx(0.02 / np.sqrt(3))
    with pytest.raises(ValueError, match="at least two repeats"):
        paired_difference([0.1], [0.2])
