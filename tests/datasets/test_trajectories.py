import zipfile

import numpy as np
import pytest

from metrickit.datasets.trajectories import (
    load_svc2004_online,
    load_trajectory_files,
    pad_trajectories,
    parse_svc_text,
    read_trajectory,
)
from metrickit.exceptions import DatasetNotFoundError


def _svc_text(rows: list[list[int]]) -> str:
    return "\n".join([str(len(rows)), *(" ".join(map(str, row)) for row in rows)]) + "\n"


def test_contact_by_pressure_stroke_starts_and_time_from_zero():
    rows = [[10, 20, 1000, 0, 5, 6, 100],  # a stroke's first contact: button 0 with pressure
            [11, 21, 1010, 1, 5, 6, 110],
            [12, 22, 1011, 3, 5, 6, 120],  # 1 ms step (jitter) and a barrel-button bit: still the same stroke
            [13, 23, 1002, 1, 5, 6, 130],  # time runs backwards by 9 ms: kept, same stroke
            [14, 24, 1012, 2, 5, 6, 0],  # zero pressure: not in contact, dropped
            [15, 25, 1022, 1, 5, 6, 140],  # after a dropped row: a new stroke
            [16, 26, 1100, 1, 5, 6, 150],  # a 78 ms gap: a new stroke
            [17, 27, 1110, 0, 5, 6, 160]]  # button 0: a new stroke
    trajectory = parse_svc_text(_svc_text(rows), "U1S1.TXT")
    assert trajectory.channels == ("x", "y", "t", "stroke_start", "pressure", "azimuth", "altitude")
    assert len(trajectory) == 7 and trajectory.channel("x").tolist() == [10, 11, 12, 13, 15, 16, 17]
    assert trajectory.channel("stroke_start").tolist() == [1, 0, 0, 0, 1, 1, 1]
    assert trajectory.channel("t")[0] == 0 and trajectory.channel("t")[-1] == 110
    assert trajectory.channel("pressure").min() > 0
    with pytest.raises(KeyError, match="has no 'speed' channel"):
        trajectory.channel("speed")


def test_task1_files_keep_every_row_and_have_no_pressure_or_pen_angles():
    trajectory = parse_svc_text(_svc_text([[1, 2, 0, 0], [2, 3, 10, 1], [3, 4, 20, 1]]), "task1.TXT")
    assert trajectory.channels == ("x", "y", "t", "stroke_start") and len(trajectory) == 3


@pytest.mark.parametrize("text, message", [
    ("", r"bad.TXT: the file is empty"),
    ("two\n1 2 3 4\n", r"bad.TXT, line 1: expected the number of points, got 'two'"),
    ("3\n1 2 3 4\n1 2 3 4\n", r"bad.TXT, line 1: the file says 3 points but holds 2 rows"),
    ("2\n1 2 3 4 5\n1 2 3 4 5\n", r"bad.TXT, line 2: expected 7 columns \(Task 2\) or 4 \(Task 1\), got 5"),
    ("2\n1 2 3 4\n1 2 3\n", r"bad.TXT, line 3: expected 4 columns like line 2, got 3"),
    ("2\n1 2 3 4\n1 2 x 4\n", r"bad.TXT, line 3: expected integers, got '1 2 x 4'"),
    ("2\n1 2 3 0 5 6 0\n1 2 13 1 5 6 0\n", r"bad.TXT: no point has pressure > 0"),
])
def test_malformed_svc_files_are_refused_with_their_name_and_line(text, message):
    with pytest.raises(ValueError, match=message):
        parse_svc_text(text, "bad.TXT")


def test_csv_trajectories_with_and_without_pressure(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "one.csv").write_text("x,y,t,pressure\n1,2,0,5\n2,3,10,0\n3,4,20,7\n")
    (tmp_path / "a" / "two.csv").write_text("t,x,y,pressure\n0,5,5,1\n10,6,6,2\n\n")
    data = load_trajectory_files([tmp_path / "a" / "one.csv", tmp_path / "a" / "two.csv"])
    assert data.channels == ("x", "y", "t", "stroke_start", "pressure") and data.lengths.tolist() == [2, 2]
    assert data.sequences()[0][:, 0].tolist() == [1, 3] and data.sequences()[0][:, 3].tolist() == [1, 1]  # a stroke after the lift
    assert data.sequences()[1][:, 0].tolist() == [5, 6] and data.labels.tolist() == ["a", "a"]
    plain = tmp_path / "plain.csv"
    plain.write_text("x,y,t\n1,2,0\n2,3,10\n")
    assert read_trajectory(plain).channels == ("x", "y", "t", "stroke_start")
    with pytest.raises(ValueError, match="have channels|has channels"):
        load_trajectory_files([plain, tmp_path / "a" / "one.csv"])
    for content, message in [("x,y\n1,2\n", "needs columns x,y,t .* missing t"), ("x,y,t,speed\n1,2,3,4\n", r"unknown column\(s\) speed"),
                             ("x,y,t\n1,2,0\n1,b,3\n", "line 3: expected numbers"), ("x,y,t\n1,2\n", "line 2: expected 3 fields"),
                             ("x,y,t\n1,2,0\n", "at least 2 points"), ("x,y,t\n1,2,0\nnan,2,3\n", "NaN or infinite")]:
        plain.write_text(content)
        with pytest.raises(ValueError, match=message):
            read_trajectory(plain)
    with pytest.raises(ValueError, match=r"must be SVC2004 text \(.TXT\) or .csv; got '.json'"):
        (tmp_path / "x.json").write_text("{}")
        read_trajectory(tmp_path / "x.json")
    with pytest.raises(FileNotFoundError, match="does not exist"):
        read_trajectory(tmp_path / "missing.TXT")


def test_padding_masks_and_subsets():
    a = parse_svc_text(_svc_text([[1, 1, 0, 0, 1, 1, 5], [2, 2, 10, 1, 1, 1, 5], [3, 3, 20, 1, 1, 1, 5]]), "a")
    b = parse_svc_text(_svc_text([[4, 4, 0, 0, 1, 1, 5], [5, 5, 10, 1, 1, 1, 5]]), "b")
    X, lengths, channels = pad_trajectories([a, b])
    assert X.shape == (2, 3, 7) and lengths.tolist() == [3, 2] and np.all(X[1, 2] == 0)
    from metrickit.datasets.trajectories import trajectory_set

    data = trajectory_set([a, b], np.array(["u1", "u2"]), ["a", "b"], {"forged": np.array([False, True])}, "t")
    assert data.mask.tolist() == [[True, True, True], [True, True, False]]
    part = data.subset(np.array([False, True]))
    assert part.lengths.tolist() == [2] and part.sequences()[0].shape == (2, 7) and part.extra["forged"].tolist() == [True]


def test_the_archive_loader_refuses_a_missing_or_foreign_archive(tmp_path):
    with pytest.raises(DatasetNotFoundError, match="svc2004_online"):
        load_svc2004_online(tmp_path)
    (tmp_path / "svc2004_online").mkdir()
    with zipfile.ZipFile(tmp_path / "svc2004_online" / "svc2004_task2_users1-30.zip", "w") as archive:
        archive.writestr("SVC2004/Task2/U1S1.TXT", "2\n1 2 3 0 5 6 7\n1 2 13 1 5 6 7\n")
        archive.writestr("SVC2004/Task2/U1S2.TXT", "3\n1 2 3 0 5 6 7\n")
    with pytest.raises(ValueError, match=r"U1S2.TXT, line 1: the file says 3 points but holds 1 rows"):
        load_svc2004_online(tmp_path)


@pytest.mark.realdata
def test_the_real_task2_files(svc2004_online_dir):
    data = load_svc2004_online(svc2004_online_dir.parent)
    assert len(data.labels) == 1200 and len(set(data.labels)) == 30 and data.extra["forged"].sum() == 600
    assert data.channels[-3:] == ("pressure", "azimuth", "altitude") and 80 <= data.lengths.min() and data.lengths.max() <= 713
    pressure = data.X[..., data.channels.index("pressure")]
    assert np.all(pressure[data.mask] > 0)  # contact points only
    assert np.all(data.X[:, 0, data.channels.index("stroke_start")] == 1)
