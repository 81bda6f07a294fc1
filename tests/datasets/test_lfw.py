"""LFW: the archive decoded through a face crop into the cache, and the official pair lists resolved and checked."""

import io
import zipfile

import numpy as np
import pytest
from PIL import Image

from metrickit.datasets.lfw import lfw_preprocessing, load_lfw, load_pair_list, parse_pair_list
from metrickit.exceptions import DatasetNotFoundError


def test_real_lfw_images_and_pair_lists(lfw_dir, tmp_path):
    data = load_lfw(data_dir=lfw_dir.parent, cache=tmp_path)
    assert data.X.shape == (13_233, 1, 64, 64) and data.X.dtype == np.uint8 and len(set(data.labels)) == 5_749
    assert data.preprocessing == lfw_preprocessing() and data.ids[0] == "AJ_Cook/AJ_Cook_0001.jpg"
    cached = list(tmp_path.glob("lfw-*.npz"))
    assert len(cached) == 1
    again = load_lfw(data_dir=lfw_dir.parent, cache=tmp_path)  # from the cache: the same arrays
    assert np.array_equal(again.X, data.X) and again.ids == data.ids
    digests, counts = np.unique(data.extra["digest"], return_counts=True)
    assert sorted(counts[counts > 1]) == [2, 2]  # two images each stored under two names (SOURCE.md)
    view2 = load_pair_list("view2", data, lfw_dir.parent)
    assert len(view2) == 6_000 and view2.n_folds == 10 and view2.same.sum() == 3_000 and len(view2.people(data)) == 4_281
    folds = [set(view2.folds([k]).people(data)) for k in range(10)]
    assert [len(f) for f in folds] == [435, 409, 397, 423, 422, 419, 443, 443, 439, 451]
    assert all(not folds[a] & folds[b] for a in range(10) for b in range(a + 1, 10))
    first = view2.folds([0])
    assert np.array_equal(data.labels[first.first] == data.labels[first.second], first.same)  # matched means same person
    train, test = (load_pair_list(w, data, lfw_dir.parent) for w in ("dev-train", "dev-test"))
    assert (len(train), len(test)) == (2_200, 1_000) and not set(train.people(data)) & set(test.people(data))
    assert len((set(train.people(data)) | set(test.people(data))) & set(view2.people(data))) == 2_465  # why View 1 models never score View 2


def _fake_lfw(root, people):
    folder = root / "lfw"
    folder.mkdir()
    with zipfile.ZipFile(folder / "lfw.zip", "w") as archive:
        for person, count in people.items():
            for number in range(1, count + 1):
                buffer = io.BytesIO()
                Image.fromarray(np.full((250, 250), 10 * number, dtype=np.uint8)).save(buffer, format="JPEG")
                archive.writestr(f"lfw/{person}/{person}_{number:04d}.jpg", buffer.getvalue())
    return folder


def test_pair_lists_are_checked_line_by_line(tmp_path):
    folder = _fake_lfw(tmp_path, {"Ann_A": 2, "Bob_B": 3})
    data = load_lfw(lfw_preprocessing(100, 32), data_dir=tmp_path, cache=tmp_path / "cache")
    assert data.X.shape == (5, 1, 32, 32) and list(data.extra["number"]) == [1, 2, 1, 2, 3]
    good = parse_pair_list("2\t1\nAnn_A\t1\t2\nAnn_A\t1\tBob_B\t2\nBob_B\t1\t3\nAnn_A\t2\tBob_B\t3\n", data)
    assert good.n_folds == 2 and list(good.same) == [True, False, True, False] and list(good.fold) == [0, 0, 1, 1]
    assert list(good.first) == [0, 0, 2, 1] and list(good.second) == [1, 3, 4, 4]
    used, first, second = good.local()  # each image once, the pairs as positions among them
    assert list(used) == [0, 1, 2, 3, 4] and list(used[first]) == list(good.first) and list(used[second]) == list(good.second)
    matched, mismatched = good.split(np.array([10.0, 20.0, 30.0, 40.0]))
    assert list(matched) == [10.0, 30.0] and list(mismatched) == [20.0, 40.0]
    with pytest.raises(ValueError, match="list.txt:1: the header"):
        parse_pair_list("two\nAnn_A\t1\t2\n", data, name="list.txt")
    with pytest.raises(ValueError, match=r"promises 1 fold\(s\) of 1 matched \+ 1 mismatched pairs \(2 lines\); found 1"):
        parse_pair_list("1\nAnn_A\t1\t2\n", data)
    with pytest.raises(ValueError, match=r":3: expected a mismatched 'name1 i name2 j' line"):
        parse_pair_list("1\nAnn_A\t1\t2\nAnn_A\t1\t2\n", data)
    with pytest.raises(ValueError, match=r":2: Ann_A_0007.jpg is not among the LFW images"):
        parse_pair_list("1\nAnn_A\t1\t7\nAnn_A\t1\tBob_B\t1\n", data)
    (folder / "pairs.txt").write_text("1\t1\nAnn_A\t1\t2\nAnn_A\t1\tBob_B\t1\n")
    assert len(load_pair_list("view2", data, tmp_path)) == 2
    with pytest.raises(DatasetNotFoundError, match="pairsDevTrain.txt"):
        load_pair_list("dev-train", data, tmp_path)
    with pytest.raises(ValueError, match="`which` must be one of"):
        load_pair_list("view3", data, tmp_path)
    with pytest.raises(ValueError, match="`crop` must lie in"):
        lfw_preprocessing(300)


def test_a_missing_or_corrupt_archive_is_named(tmp_path):
    with pytest.raises(DatasetNotFoundError, match="lfw"):
        load_lfw(data_dir=tmp_path, cache=tmp_path)
    (tmp_path / "lfw").mkdir()
    (tmp_path / "lfw" / "lfw.zip").write_bytes(b"not a zip")
    with pytest.raises(ValueError, match="not a readable zip archive"):
        load_lfw(data_dir=tmp_path, cache=tmp_path)
