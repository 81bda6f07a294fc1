import gzip
import re

import numpy as np
import pytest

from metrickit.datasets import load_mnist
from metrickit.datasets.mnist import read_idx


@pytest.mark.realdata
def test_mnist_has_the_documented_counts(mnist_dir):
    X, y = load_mnist("train", data_dir=mnist_dir.parent)
    assert X.shape == (60000, 784) and X.dtype == np.uint8
    np.testing.assert_array_equal(np.bincount(y), [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949])
    X_test, y_test = load_mnist("test", data_dir=mnist_dir.parent)
    assert X_test.shape == (10000, 784)
    assert np.bincount(y_test)[1] == 1135
    assert abs(X.mean() / 255.0 - 0.1307) < 1e-3


def test_truncated_idx_file_is_named(tmp_path):
    path = tmp_path / "bad-idx.gz"
    with gzip.open(path, "wb") as fh:
        fh.write((2051).to_bytes(4, "big") + (2).to_bytes(4, "big") + (28).to_bytes(4, "big") * 2 + b"\x00" * 10)
    with pytest.raises(ValueError, match=re.escape(f"MNIST file {path} holds 10 data bytes")):
        read_idx(path, 2051)


def test_wrong_magic_and_non_gzip_are_named(tmp_path):
    path = tmp_path / "labels.gz"
    with gzip.open(path, "wb") as fh:
        fh.write((2049).to_bytes(4, "big") + (1).to_bytes(4, "big") + b"\x01")
    with pytest.raises(ValueError, match="has IDX magic number 2049; expected 2051"):
        read_idx(path, 2051)
    plain = tmp_path / "plain.gz"
    plain.write_bytes(b"not gzip at all")
    with pytest.raises(ValueError, match=re.escape(f"MNIST file {plain} is not a readable gzip file")):
        read_idx(plain, 2051)
