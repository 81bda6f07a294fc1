import zipfile

import numpy as np
import pytest

from metrickit.datasets import omniglot
from metrickit.datasets.labeled import Preprocessing
from metrickit.datasets.omniglot import decode_archive, load_omniglot
from metrickit.exceptions import DatasetNotFoundError
from tests._fakes import fake_omniglot


@pytest.fixture
def fake_root(tmp_path, monkeypatch):
    monkeypatch.setenv("METRICKIT_CACHE", str(tmp_path / "cache"))
    (tmp_path / "data" / "omniglot").mkdir(parents=True)
    fake_omniglot(tmp_path / "data" / "omniglot")
    return tmp_path / "data"


def test_split_classes_rotations_and_cache(fake_root, monkeypatch):
    data = load_omniglot("train", data_dir=fake_root)
    assert data.X.shape == (9, 1, 28, 28) and data.X.dtype == np.float32
    assert list(np.unique(data.labels)) == ["Alpha/character01/rot000", "Alpha/character01/rot090", "Beta/character01/rot180"]
    upright, turned = data.X[data.labels == "Alpha/character01/rot000"], data.X[data.labels == "Alpha/character01/rot090"]
    np.testing.assert_array_equal(turned[:, 0], np.rot90(upright[:, 0], k=1, axes=(1, 2)))
    assert upright.max() == 1.0 and upright[0, 0, 0, 0] == 0.0  # strokes bright, background dark
    assert data.ids[0] == "Alpha/character01/rot000/01"
    assert len(list((fake_root.parent / "cache").glob("omniglot-images_background-*.npz"))) == 1
    monkeypatch.setattr(omniglot, "_decode", lambda path: pytest.fail("decoded again instead of reading the cache"))
    again = load_omniglot("train", data_dir=fake_root)
    np.testing.assert_array_equal(again.X, data.X)


def test_stored_preprocessing_reads_raw_drawings_as_the_dataset_decodes_them(fake_root, tmp_path):
    data = load_omniglot("train", data_dir=fake_root)
    with zipfile.ZipFile(fake_root / "omniglot" / "images_background.zip") as archive:
        raw = tmp_path / "drawing.png"
        raw.write_bytes(archive.read("images_background/Alpha/character01/0001_01.png"))
    prep = Preprocessing.from_dict(data.preprocessing.as_dict())  # as a model file restores it
    decoded = prep.read_image(raw)
    assert decoded.shape == (1, 28, 28) and decoded.max() == 255 and decoded[0, 0, 0] == 0
    np.testing.assert_array_equal(prep.apply(decoded[None]), data.X[data.ids.index("Alpha/character01/rot000/01")][None])


def test_missing_and_corrupt_archives_are_named(fake_root):
    archive = fake_root / "omniglot" / "images_background.zip"
    archive.write_bytes(b"this is not a zip")
    with pytest.raises(ValueError, match="images_background.zip is not a readable zip archive"):
        load_omniglot("train", data_dir=fake_root)
    archive.unlink()
    with pytest.raises(DatasetNotFoundError, match="Omniglot archive .*images_background.zip does not exist"):
        load_omniglot("train", data_dir=fake_root)


def test_bad_split_names_and_unknown_classes(fake_root):
    with pytest.raises(ValueError, match="`split` must be one of 'train', 'val', 'test', 'trainval', 'background'; got 'dev'."):
        load_omniglot("dev", data_dir=fake_root)
    with pytest.raises(DatasetNotFoundError, match="split file .*val.txt does not exist"):
        load_omniglot("val", data_dir=fake_root)
    (fake_root / "omniglot" / "splits" / "vinyals" / "train.txt").write_text("Gamma/character09/rot000\n")
    with pytest.raises(ValueError, match="class 'Gamma/character09/rot000' is not an Omniglot character"):
        load_omniglot("train", data_dir=fake_root)


def test_background_split_is_every_background_character_in_four_rotations(fake_root):
    data = load_omniglot("background", data_dir=fake_root)
    classes = np.unique(data.labels)
    assert len(classes) == 3 * 4 and set(omniglot.characters_of(classes)) == {"Alpha/character01", "Alpha/character02", "Beta/character01"}
    assert data.X.shape == (3 * 4 * 3, 1, 28, 28)


def test_held_out_alphabets_are_whole_and_seeded():
    classes = [f"{a}/character0{c}/rot000" for a in ("A", "B", "C", "D") for c in (1, 2)]
    fit, held = omniglot.hold_out_alphabets(classes, 1, seed=3)
    assert len(held) == 2 and len({c.split("/")[0] for c in held}) == 1 and sorted(fit + held) == sorted(classes)
    assert omniglot.hold_out_alphabets(classes, 1, seed=3) == (fit, held)
    with pytest.raises(ValueError, match=r"`n_alphabets` \(4\) must be at least 1 and below the number of alphabets \(4\)"):
        omniglot.hold_out_alphabets(classes, 4, seed=0)


def test_archive_without_drawings_is_refused(tmp_path):
    path = tmp_path / "images_background.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("notes.txt", "hello")
    with pytest.raises(ValueError, match="holds no drawings named <Alphabet>/characterNN/<id>_<drawer>.png"):
        decode_archive(path, tmp_path)


@pytest.mark.realdata
def test_vinyals_test_split_has_the_documented_counts(omniglot_dir, tmp_path, monkeypatch):
    monkeypatch.setenv("METRICKIT_CACHE", str(tmp_path))
    data = load_omniglot("test", data_dir=omniglot_dir.parent)
    assert data.X.shape == (1692 * 20, 1, 28, 28)
    classes, counts = np.unique(data.labels, return_counts=True)
    assert len(classes) == 1692 and set(counts) == {20}
    assert 0.05 < float(data.X.mean()) < 0.2  # thin bright strokes on a dark background
