"""Shared fixtures: seeded generators and the shared real datasets (skip outside CI, fail in CI)."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from metrickit.datasets.paths import dataset_dir
from metrickit.exceptions import DatasetNotFoundError

_REAL_DATA_RAN: list[str] = []


def _in_ci() -> bool:
    return os.environ.get("CI", "").lower() == "true"


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(0)


def _shared_dataset(name: str) -> Path:
    try:
        return dataset_dir(name)
    except DatasetNotFoundError as error:
        message = f"shared dataset missing: {error}"
        if _in_ci():
            pytest.fail(f"CI=true but {message}")
        pytest.skip(message)


def _real_dataset_fixture(name: str, fixture_name: str):
    """A fixture giving the shared dataset folder ``name`` and counting the test as a real-data test."""

    def folder(request) -> Path:
        found = _shared_dataset(name)
        _REAL_DATA_RAN.append(request.node.nodeid)
        return found

    return pytest.fixture(name=fixture_name)(folder)


mnist_dir = _real_dataset_fixture("mnist", "mnist_dir")
omniglot_dir = _real_dataset_fixture("omniglot", "omniglot_dir")
orl_dir = _real_dataset_fixture("orl_faces", "orl_dir")
svc2004_dir = _real_dataset_fixture("svc2004_signatures", "svc2004_dir")
svc2004_online_dir = _real_dataset_fixture("svc2004_online", "svc2004_online_dir")
market_dir = _real_dataset_fixture("market1501_subset", "market_dir")
lfw_dir = _real_dataset_fixture("lfw", "lfw_dir")


@pytest.fixture
def crash_after_checkpoints(monkeypatch):
    """``arm(n)``: the next training run dies (KeyboardInterrupt) right after writing its n-th checkpoint; ``disarm()`` undoes it."""
    from metrickit.training import checkpoint as checkpoint_module

    real_save = checkpoint_module.save_checkpoint

    def arm(n: int) -> None:
        calls = {"n": 0}

        def save_then_crash(state, path):
            real_save(state, path)
            calls["n"] += 1
            if calls["n"] == n:
                raise KeyboardInterrupt

        monkeypatch.setattr(checkpoint_module, "save_checkpoint", save_then_crash)

    def disarm() -> None:
        monkeypatch.setattr(checkpoint_module, "save_checkpoint", real_save)

    arm.disarm = disarm
    return arm


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    passed = {r.nodeid for r in terminalreporter.stats.get("passed", [])}
    ran = [nodeid for nodeid in dict.fromkeys(_REAL_DATA_RAN) if nodeid in passed]
    terminalreporter.write_line(f"real-data tests passed: {len(ran)} (of {len(dict.fromkeys(_REAL_DATA_RAN))} that used shared data)")
