"""Labelled samples for deep metric learning: images or feature vectors, with their preprocessing.

A :class:`Preprocessing` is stored in every model file, so new inputs are prepared exactly as the
training inputs were, and inputs that do not fit the model (wrong image size, wrong feature
count) are refused with a clear message.
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Sequence

import numpy as np

from metrickit.exceptions import DatasetNotFoundError

__all__ = ["IMAGE_SUFFIXES", "LabeledSet", "Preprocessing", "load_image_folder", "load_labeled", "read_images", "split_by_classes"]

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".pgm", ".tif", ".tiff", ".gif")


@dataclass(frozen=True)
class Preprocessing:
    """How raw inputs become network inputs: ``(raw * scale - mean) / std``, images reshaped to ``shape``.

    ``kind`` is 'image' (``shape`` = [channels, height, width]) or 'features' (``shape`` = [n_features]).
    """

    kind: str
    shape: tuple[int, ...]
    scale: float = 1.0
    mean: float | tuple[float, ...] = 0.0  # one value, or one per feature
    std: float | tuple[float, ...] = 1.0
    resize: bool = False

    def as_dict(self) -> dict:
        return {**asdict(self), "shape": list(self.shape)}

    @classmethod
    def from_dict(cls, data: dict) -> "Preprocessing":
        fix = lambda v: tuple(float(x) for x in v) if isinstance(v, (list, tuple)) else float(v)  # noqa: E731
        return cls(**{**data, "shape": tuple(int(s) for s in data["shape"]), "mean": fix(data["mean"]), "std": fix(data["std"])})

    def apply(self, raw: np.ndarray) -> np.ndarray:
        """Float32 network inputs (n, *shape) from raw inputs (n, ...); raises if they do not fit."""
        raw = np.asarray(raw)
        n = len(raw)
        expected = int(np.prod(self.shape))
        if raw.ndim < 2 or int(np.prod(raw.shape[1:])) != expected:
            what = "x".join(map(str, self.shape))
            raise ValueError(
                f"the model expects {self.kind} inputs of shape {what} ({expected} values each); "
                f"got inputs of shape {tuple(raw.shape[1:])}."
            )
        x = raw.reshape(n, *self.shape).astype(np.float32) * np.float32(self.scale)
        return (x - np.asarray(self.mean, dtype=np.float32)) / np.asarray(self.std, dtype=np.float32)


@dataclass
class LabeledSet:
    """Network-ready inputs ``X`` (n, *shape), labels ``y`` (n,), optional ids (file names), and the preprocessing."""

    X: np.ndarray
    y: np.ndarray
    preprocessing: Preprocessing
    ids: list[str] = field(default_factory=list)

    def subset(self, mask: np.ndarray) -> "LabeledSet":
        ids = [i for i, keep in zip(self.ids, mask) if keep] if self.ids else []
        return LabeledSet(self.X[mask], self.y[mask], self.preprocessing, ids)


def split_by_classes(labels: np.ndarray, classes: Sequence) -> np.ndarray:
    """Mask of the samples whose label is in ``classes``; raises naming classes that do not occur."""
    missing = sorted(set(classes) - set(np.unique(labels).tolist()), key=str)
    if missing:
        raise ValueError(f"class(es) {missing[:10]} do not occur in the labels.")
    return np.isin(labels, list(classes))


def load_labeled(
    name: str,
    split: str = "train",
    *,
    data_dir: str | os.PathLike | None = None,
    image_size: int | None = None,
    preprocessing: Preprocessing | None = None,
    labels: str | os.PathLike | None = None,
    label_column: int | None = None,
) -> LabeledSet:
    """'mnist' (28 x 28), 'digits' (scikit-learn's 8 x 8), a class-per-folder image directory, or a features file.

    Inputs are prepared with ``preprocessing`` when given (a model's, so new data match its training
    data), else with the dataset's own: MNIST and digits scaled to [0, 1] and standardised with
    fixed training-set statistics, folders and feature files with their own mean and std. Digits
    has no official split: 'train' and 'test' are both all of it; classes, not samples, separate
    training from testing there. Feature files take their labels from an .npz's ``y``, from a
    ``labels`` file, or from a CSV ``label_column``.
    """
    raw, y, default, ids = _load_raw(name, split, data_dir, image_size or _side(preprocessing), labels, label_column)
    prep = preprocessing or default
    return LabeledSet(prep.apply(raw), y, prep, ids)


def _side(preprocessing: Preprocessing | None) -> int | None:
    return preprocessing.shape[-1] if preprocessing is not None and preprocessing.resize else None


def _load_raw(name, split, data_dir, image_size, labels, label_column) -> tuple[np.ndarray, np.ndarray, Preprocessing, list[str]]:
    if name == "mnist":
        from metrickit.datasets.mnist import load_mnist

        images, labels = load_mnist(split, data_dir=data_dir)
        return images, labels, Preprocessing("image", (1, 28, 28), scale=1 / 255, mean=0.1307, std=0.3081), []
    if name == "digits":
        from metrickit.datasets.tabular import load_bundled

        X, y = load_bundled("digits")
        return X, y.astype(np.int64), Preprocessing("image", (1, 8, 8), scale=1 / 16, mean=0.3059, std=0.3821), []
    path = Path(name)
    if path.is_dir():
        return load_image_folder(path, image_size=image_size)
    if path.suffix.lower() in (".npy", ".npz", ".csv"):
        from metrickit.datasets.tabular import load_features, load_labels

        X, y = load_features(path, label_column=label_column)
        if labels is not None:
            y = load_labels(labels)
            if len(y) != len(X):
                raise ValueError(f"{labels} holds {len(y)} labels but {path} has {len(X)} rows.")
        if y is None:
            raise ValueError(f"{path} holds no labels: pass a labels file (--labels), a CSV --label-column, or an .npz with arrays 'X' and 'y'.")
        std = X.std(0)
        prep = Preprocessing("features", (X.shape[1],), mean=tuple(X.mean(0).tolist()), std=tuple(np.where(std > 0, std, 1.0).tolist()))
        return X, np.asarray(y), prep, []
    raise DatasetNotFoundError(
        f"dataset {name!r} is neither 'mnist', 'digits', an existing folder of class sub-folders, nor an .npy/.npz/.csv file."
    )


def load_image_folder(
    root: str | os.PathLike, *, image_size: int | None = None, grayscale: bool = True
) -> tuple[np.ndarray, np.ndarray, Preprocessing, list[str]]:
    """Raw images (n, channels, height, width) uint8 under ``root/<class>/<file>``, labels (folder names),
    their default preprocessing (scaled to [0, 1], standardised with their own mean and std) and ids.

    Images must share one size unless ``image_size`` is given (then each is resized to a square of
    that side). Unreadable files raise naming the file.
    """
    root = Path(root)
    if not root.is_dir():
        raise DatasetNotFoundError(f"image folder {root} does not exist.")
    files = sorted(p for p in root.glob("*/*") if p.suffix.lower() in IMAGE_SUFFIXES)
    if not files:
        raise DatasetNotFoundError(f"{root} holds no images in class sub-folders (expected {root}/<class>/<image>{IMAGE_SUFFIXES[0]}).")
    stack = read_images(files, image_size=image_size, grayscale=grayscale)
    scaled = stack.astype(np.float32) / 255
    prep = Preprocessing("image", tuple(stack.shape[1:]), scale=1 / 255, mean=float(scaled.mean()), std=float(scaled.std() or 1.0), resize=bool(image_size))
    labels = np.array([p.parent.name for p in files])
    return stack, labels, prep, [str(p.relative_to(root)) for p in files]


def read_images(files: Sequence[Path], *, image_size: int | None = None, grayscale: bool = True) -> np.ndarray:
    """Images as uint8 (n, channels, height, width); all one size unless ``image_size`` resizes them to squares."""
    from PIL import Image, UnidentifiedImageError

    arrays = []
    for path in files:
        try:
            with Image.open(path) as image:
                image = image.convert("L" if grayscale else "RGB")
                if image_size:
                    image = image.resize((image_size, image_size), Image.BILINEAR)
                arrays.append(np.asarray(image, dtype=np.uint8))
        except (UnidentifiedImageError, OSError) as error:
            raise ValueError(f"cannot read image {path}: {error}") from None
    shapes = {a.shape for a in arrays}
    if len(shapes) > 1:
        raise ValueError(f"images have different sizes {sorted(shapes)[:4]}; pass an image size (CLI: --image-size) to resize them.")
    stack = np.stack(arrays)
    return stack[:, None] if grayscale else stack.transpose(0, 3, 1, 2)
