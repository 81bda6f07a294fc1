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


def _identity_image(identity: int, sample: int, size: tuple[int, int], background: int) -> np.ndarray:
    """A fixed random pattern per identity plus per-sample noise, as uint8 (height, width)."""
    pattern = np.random.default_rng(identity).random(size) > 0.6
    noise = np.random.default_rng(1000 * identity + sample).normal(0, 25, size)
    ink = 255 - background
    return np.clip(np.where(pattern, ink, background) + noise, 0, 255).astype(np.uint8)


def _encode(pixels: np.ndarray, fmt: str) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format=fmt)
    return buffer.getvalue()


def fake_orl(root, subjects=30, images=10):
    """A miniature ORL folder: ``orl_faces/att_faces_s1-s30.zip`` with sN/M.pgm, 92 x 112, as the real archive."""
    folder = root / "orl_faces"
    folder.mkdir(parents=True)
    with zipfile.ZipFile(folder / "att_faces_s1-s30.zip", "w") as archive:
        archive.writestr("att_faces/README", "fake")
        for s in range(1, subjects + 1):
            for m in range(1, images + 1):
                archive.writestr(f"att_faces/s{s}/{m}.pgm", _encode(_identity_image(s, m, (112, 92), 40), "PPM"))
    return folder


def fake_svc2004(root, users=30):
    """A miniature SVC2004 folder: ``svc2004_signatures/svc2004_users1-30.zip`` with genuine S1-S20 and forged S21-S40."""
    folder = root / "svc2004_signatures"
    folder.mkdir(parents=True)
    with zipfile.ZipFile(folder / "svc2004_users1-30.zip", "w") as archive:
        for u in range(1, users + 1):
            for s in range(1, 41):
                kind = "forged" if s > 20 else "genuine"
                writer = 100 + u if s > 20 else u  # a forgery is drawn by someone else
                pixels = _identity_image(writer, s, (40, 90), 255)  # dark ink on white, wider than high
                archive.writestr(f"SVC2004/user{u}/{kind}/U{u}S{s}.png", _encode(pixels, "PNG"))
    return folder


def fake_market(root, persons=24, cameras=3, per_camera=2):
    """A miniature Market-1501 subset: ``market1501_subset/market1501_subset_100ids.zip`` of 64 x 128 RGB JPEG crops
    named PPPP_cCsS_FFFFFF_BB.jpg, each person a colour of its own, seen by ``cameras`` cameras."""
    folder = root / "market1501_subset"
    folder.mkdir(parents=True)
    with zipfile.ZipFile(folder / "market1501_subset_100ids.zip", "w") as archive:
        for p in range(1, persons + 1):
            colour = np.random.default_rng(p).integers(0, 256, 3)
            for c in range(1, cameras + 1):
                for k in range(per_camera):
                    noise = np.random.default_rng(1000 * p + 10 * c + k).normal(0, 20, (128, 64, 3))
                    pixels = np.clip(colour + noise, 0, 255).astype(np.uint8)
                    frame = 100 * c + 7 * k + 1
                    archive.writestr(f"market1501_subset/{p:04d}_c{c}s1_{frame:06d}_0{k + 1}.jpg", _encode(pixels, "JPEG"))
    return folder


def fake_svc2004_online(root, users=12, points=40):
    """A miniature SVC2004 Task 2 folder (``svc2004_online/svc2004_task2_users1-30.zip``): each user's genuine
    trajectories S1-S20 are small variations of one curve, the skilled forgeries S21-S40 larger ones."""
    folder = root / "svc2004_online"
    folder.mkdir(parents=True)
    rng = np.random.default_rng(0)
    with zipfile.ZipFile(folder / "svc2004_task2_users1-30.zip", "w") as archive:
        for u in range(1, users + 1):
            freq = rng.uniform(1, 4, size=2)
            for s in range(1, 41):
                wobble = 0.05 if s <= 20 else 0.5
                t = np.linspace(0, 1, points)
                x = 5000 + 1000 * np.sin(2 * np.pi * (freq[0] + wobble * rng.normal()) * t)
                y = 3000 + 800 * np.cos(2 * np.pi * (freq[1] + wobble * rng.normal()) * t)
                rows = [f"{int(a)} {int(b)} {1000 + 10 * k} {0 if k == 0 else 1} 900 600 {300 + k}" for k, (a, b) in enumerate(zip(x, y))]
                archive.writestr(f"SVC2004/Task2/U{u}S{s}.TXT", "\n".join([str(points), *rows]) + "\n")
    return folder
