import zipfile

import numpy as np
import pytest

from metrickit.datasets.reid import load_market1501_subset, parse_market1501_name, reid_queries
from metrickit.exceptions import DatasetNotFoundError
from tests._fakes import fake_market


def test_names_carry_person_camera_sequence_and_frame():
    assert parse_market1501_name("0001_c1s1_001051_03.jpg") == (1, 1, 1, 1051)
    assert parse_market1501_name("some/dir/-1_c3s2_000151_00.jpg") == (-1, 3, 2, 151)  # junk boxes of the full dataset
    with pytest.raises(ValueError, match="holiday.jpg is not a Market-1501 file name"):
        parse_market1501_name("holiday.jpg")


def test_loader_and_one_query_per_person_and_camera_at_the_lowest_frame(tmp_path):
    fake_market(tmp_path, persons=3, cameras=2, per_camera=3)
    with zipfile.ZipFile(tmp_path / "market1501_subset" / "market1501_subset_100ids.zip", "a") as archive:
        archive.writestr("market1501_subset/-1_c1s1_000001_00.jpg", b"junk box: left out, never decoded")
    data = load_market1501_subset(tmp_path)
    assert data.X.shape == (18, 3, 128, 64) and data.X.dtype == np.uint8
    queries = reid_queries(data)
    assert len(queries) == 3 * 2
    for q in queries:
        group = (data.labels == data.labels[q]) & (data.extra["camera"] == data.extra["camera"][q])
        assert data.extra["frame"][q] == data.extra["frame"][group].min()
    assert data.of([2]).X.shape[0] == 6
    with pytest.raises(ValueError, match=r"label\(s\) \[7\] do not occur"):
        data.of([7])


def test_real_subset_counts(market_dir):
    data = load_market1501_subset(market_dir.parent)
    assert data.X.shape == (854, 3, 128, 64) and len(set(data.labels.tolist())) == 100
    assert np.bincount(data.extra["camera"])[1:].tolist() == [290, 217, 143, 85, 74, 45]  # SOURCE.md's counts
    assert len(reid_queries(data)) == 319


def test_missing_archive_is_named(tmp_path):
    (tmp_path / "market1501_subset").mkdir()
    with pytest.raises(DatasetNotFoundError, match="market1501_subset_100ids.zip does not exist"):
        load_market1501_subset(tmp_path)
