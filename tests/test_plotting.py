import pytest
from PIL import Image

from metrickit.plotting import plot_validation_curves


def test_validation_curves_are_written_once_with_or_without_confidence_bands(tmp_path):
    curves = {"with band": [{"epoch": e, "acc": 0.5 + 0.1 * e, "acc_ci95": 0.02} for e in (1, 2, 3)],
              "without": [{"epoch": e, "acc": 0.4 + 0.1 * e} for e in (1, 2, 3)]}
    path = plot_validation_curves(curves, tmp_path / "val.png", key="acc", ylabel="accuracy (%)")
    with Image.open(path) as image:
        assert image.format == "PNG" and image.width > 100
    before = path.read_bytes()
    with pytest.raises(FileExistsError):
        plot_validation_curves(curves, path, key="acc", ylabel="accuracy (%)")
    assert path.read_bytes() == before
