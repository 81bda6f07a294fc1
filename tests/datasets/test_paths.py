import re
from pathlib import Path

import pytest

from metrickit.datasets import paths
from metrickit.datasets.paths import data_roots, dataset_dir, default_data_dir
from metrickit.exceptions import DatasetNotFoundError

INSTALLED = Path(paths.__file__).resolve().parents[3].parent / "shared" / "data"


@pytest.fixture
def checkout(tmp_path, monkeypatch):
    """A git checkout at tmp/work/repo with tmp/work/shared/data/toy beside it, the current folder inside it."""
    repo = tmp_path / "work" / "repo"
    (repo / ".git").mkdir(parents=True)
    (repo / "sub").mkdir()
    (tmp_path / "work" / "shared" / "data" / "toy").mkdir(parents=True)
    monkeypatch.chdir(repo / "sub")
    monkeypatch.delenv("METRICKIT_DATA", raising=False)
    return tmp_path


def test_explicit_folder_then_environment_are_used_alone(checkout, monkeypatch):
    assert data_roots(checkout / "mine") == [checkout / "mine"]
    monkeypatch.setenv("METRICKIT_DATA", str(checkout / "env"))
    assert data_roots() == [checkout / "env"]
    assert data_roots(checkout / "mine") == [checkout / "mine"]


def test_the_current_checkout_comes_before_the_installed_one(checkout):
    assert data_roots() == [checkout / "work" / "shared" / "data", INSTALLED]
    assert dataset_dir("toy") == checkout / "work" / "shared" / "data" / "toy"
    assert default_data_dir() == checkout / "work" / "shared" / "data"


def test_a_git_worktree_file_marks_a_checkout(checkout, monkeypatch):
    other = checkout / "wt" / "repo"
    other.mkdir(parents=True)
    (other / ".git").write_text("gitdir: /elsewhere\n")
    monkeypatch.chdir(other)
    assert data_roots()[0] == checkout / "wt" / "shared" / "data"


def test_a_missing_dataset_names_every_path_tried(checkout):
    tried = f"{checkout / 'work' / 'shared' / 'data' / 'nothing'}, {INSTALLED / 'nothing'}"
    with pytest.raises(DatasetNotFoundError, match=re.escape(f"Dataset folder 'nothing/' not found; tried {tried}. Pass --data-dir")):
        dataset_dir("nothing")
