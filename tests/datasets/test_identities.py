import zipfile

import numpy as np
import pytest

from metrickit.datasets.identities import ORL_PREPROCESSING, SVC_PREPROCESSING, load_identities, load_orl, load_svc2004, training_classes
from metrickit.exceptions import DatasetNotFoundError
from tests._fakes import fake_orl, fake_svc2004


def test_orl_layout_identities_and_preprocessing(tmp_path):
    fake_orl(tmp_path, subjects=3, images=4)
    data = load_orl(tmp_path)
    assert data.X.shape == (12, 1, 48, 48) and data.X.dtype == np.uint8
    assert list(data.labels[:5]) == ["s1"] * 4 + ["s2"] and list(data.extra["sample"][:4]) == [1, 2, 3, 4]
    assert not data.extra["forged"].any() and list(data.labels[:4]) == ["s1"] * 4
    assert data.ids[0] == "att_faces/s1/1.pgm" and data.preprocessing == ORL_PREPROCESSING
    assert data.of(["s2"]).X.shape[0] == 4
    with pytest.raises(ValueError, match=r"label\(s\) \['s9'\] do not occur in orl"):
        data.of(["s2", "s9"])


def test_svc_genuine_forged_and_classes(tmp_path):
    fake_svc2004(tmp_path, users=2)
    data = load_svc2004(tmp_path)
    assert data.X.shape == (80, 1, 48, 96) and data.preprocessing == SVC_PREPROCESSING
    assert data.extra["forged"].sum() == 40 and (data.extra["sample"][data.extra["forged"]] > 20).all()
    assert set(training_classes(data).tolist()) == {"user1", "user1/forged", "user2", "user2/forged"}
    assert set(data.labels.tolist()) == {"user1", "user2"} and not data.prepared
    # inverted: the ink is bright; the 90 x 40 page is padded with black rows to 2:1, so the top row is black
    assert data.X.mean() > 60 and data.X[:, 0, 0, :].max() < 10


def test_real_orl_and_svc_archives(orl_dir, svc2004_dir):
    orl = load_identities("orl", orl_dir.parent)
    assert orl.X.shape == (300, 1, 48, 48) and len(set(orl.labels.tolist())) == 30
    svc = load_identities("svc2004", svc2004_dir.parent)
    assert svc.X.shape == (1200, 1, 48, 96) and svc.extra["forged"].sum() == 600 and len(set(svc.labels.tolist())) == 30


def test_missing_corrupt_and_foreign_archives_are_named(tmp_path):
    with pytest.raises(DatasetNotFoundError, match="Dataset folder 'orl_faces/' not found; tried "):
        load_orl(tmp_path)
    (tmp_path / "orl_faces").mkdir()
    with pytest.raises(DatasetNotFoundError, match="att_faces_s1-s30.zip does not exist"):
        load_orl(tmp_path)
    (tmp_path / "orl_faces" / "att_faces_s1-s30.zip").write_bytes(b"junk")
    with pytest.raises(ValueError, match="att_faces_s1-s30.zip is not a readable zip archive"):
        load_orl(tmp_path)
    with zipfile.ZipFile(tmp_path / "orl_faces" / "att_faces_s1-s30.zip", "w") as archive:
        archive.writestr("att_faces/s1/1.pgm", b"not an image")
    with pytest.raises(ValueError, match=r"cannot read image .*att_faces/s1/1.pgm"):
        load_orl(tmp_path)
    fake_svc2004(tmp_path, users=1)
    with zipfile.ZipFile(tmp_path / "svc2004_signatures" / "svc2004_users1-30.zip", "a") as archive:
        archive.writestr("SVC2004/user1/genuine/U1S25.png", b"")
    with pytest.raises(ValueError, match="U1S25.png breaks the SVC2004 layout"):
        load_svc2004(tmp_path)
    with pytest.raises(ValueError, match="`dataset` must be one of 'orl', 'svc2004'; got 'lfw'"):
        load_identities("lfw", tmp_path)
