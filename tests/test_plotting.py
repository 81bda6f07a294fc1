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


def test_roc_curves_of_many_methods_get_distinct_colours_and_a_legend_best_first(tmp_path, monkeypatch):
    import matplotlib.figure
    import numpy as np

    from metrickit.plotting import plot_roc_curves

    saved = []
    monkeypatch.setattr(matplotlib.figure.Figure, "savefig", lambda fig, *a, **k: saved.append(fig) or open(a[0], "wb").write(b"png"))
    far = np.linspace(0, 1, 101)
    curves = {f"m{i}": [(far, far ** (1 / (1 + i)))] * 2 for i in range(11)}  # m10 is the best, m0 chance
    plot_roc_curves(curves, tmp_path / "roc.png")
    ax = saved[0].axes[0]
    labels = [text.get_text() for text in ax.get_legend().get_texts()]
    assert labels[:3] == ["m10 (2 folds)", "m9 (2 folds)", "m8 (2 folds)"] and labels[-1] == "chance"
    colours = [tuple(line.get_color()) for line in ax.get_lines()[:11]]
    assert len(set(colours)) == 11
