import pytest

from metrickit.datasets.identities import load_orl
from tests._fakes import fake_orl


@pytest.fixture(scope="package")
def orl(tmp_path_factory):
    """A fake ORL (30 subjects of 10 images), loaded once for the verification tests."""
    root = tmp_path_factory.mktemp("data")
    fake_orl(root)
    return load_orl(root)
