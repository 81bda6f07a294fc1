"""Miniature copies of the shared datasets for fast tests."""

import io
import zipfile

import numpy as np
from PIL import Image

from metrickit.datasets import omniglot


def drawing(seed: int) -> bytes:
    pixels = np.ones((105, 105), dtype=bool)
    pixels[10:90, 20 + seed : 30 + seed] = False  # a dark vertical stroke on white, as Omniglot's mode-"1" PNGs
    buffer = io.BytesIO()
    Image.fromarray(pixels).convert("1").save(buffer, format="PNG")
    return buffer.getvalue()


def fake_omniglot(root, characters=("Alpha/character01", "Alpha/character02", "Beta/character01"), drawers=3, splits=None):
    """A miniature copy of the shared folder: two archives, 3 drawers per character, a split file."""
    for name in omniglot.ARCHIVES:
        with zipfile.ZipFile(root / name, "w") as archive:
            if name == "images_background.zip":
                for c, character in enumerate(characters):
                    for drawer in range(1, drawers + 1):
                        archive.writestr(f"images_background/{character}/{c + 1:04d}_{drawer:02d}.png", drawing(c))
            else:
                archive.writestr("images_evaluation/Zeta/character01/0099_01.png", drawing(5))
    (root / "splits" / "vinyals").mkdir(parents=True)
    splits = splits or {"train": ["Alpha/character01/rot000", "Alpha/character01/rot090", "Beta/character01/rot180"]}
    for name, classes in splits.items():
        (root / "splits" / "vinyals" / f"{name}.txt").write_text("".join(f"{c}\n" for c in classes))
    return root
