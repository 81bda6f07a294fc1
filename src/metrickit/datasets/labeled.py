"""Labelled samples for deep metric learning: images or feature vectors, with their preprocessing.

A :class:`Preprocessing` is stored in every model file, so new inputs are prepared exactly as the
training inputs were, and inputs that do not fit the model (wrong image size, wrong feature
count) are refused with a clear message.
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Sequence

import numpy as np

from metrickit.exceptions import DatasetNotFoundError

__all__ = ["IMAGE_SUFFIXES", "LabeledSet", "Preprocessing", "load_image_folder", "load_labeled", "read_images", "split_by_classes"]

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".pgm", ".tif", ".tiff", ".gif")
_RESAMPLE = {"bilinear": 2, "lanczos": 1}  # PIL.Image.BILINEAR, PIL.Image.LANCZOS


@dataclass(frozen=True)
class Preprocessing:
    """How raw inputs become network inputs: ``(raw * scale - mean) / std``, images reshaped to ``shape``.

    ``kind`` is 'image' (``shape`` = [channels, height, width]) or 'features' (``shape`` = [n_features]).
    Image files are decoded by :meth:`read_image`, in this order: ``crop`` (top, left, height, width),
    ``invert`` (255 - pixel: dark strokes on white become bright on black), ``pad_to_aspect`` (pad with
    black, centred, to the width/height ratio of ``shape``, so the resize keeps the aspect ratio),
    ``resize`` (to ``shape``'s height and width, with ``resample`` 'bilinear' or 'lanczos').
    Stored in every model file, so new files are prepared exactly as the training files were.
    """

    kind: str
    shape: tuple[int, ...]
    scale: float = 1.0
    mean: float | tuple[float, ...] = 0.0  # one value, or one per feature
    std: float | tuple[float, ...] = 1.0
    resize: bool = False
    crop: tuple[int, int, int, int] | None = None
    invert: bool = False
    pad_to_aspect: bool = False
    resample: str = "bilinear"

    def __post_init__(self) -> None:
        if self.resample not in _RESAMPLE:
            raise ValueError(f"`resample` must be one of {', '.join(map(repr, _RESAMPLE))}; got {self.resample!r}.")
        if self.crop is not None and (len(self.crop) != 4 or min(self.crop[2:]) < 1 or min(self.crop[:2]) < 0):
            raise ValueError(f"`crop` must be (top, left, height, width) with height, width >= 1; got {self.crop!r}.")

    def as_dict(self) -> dict:
        return {**asdict(self), "shape": list(self.shape), "crop": list(self.crop) if self.crop is not None else None}

    @classmethod
    def from_dict(cls, data: dict) -> "Preprocessing":
        fix = lambda v: tuple(float(x) for x in v) if isinstance(v, (list, tuple)) else float(v)  # noqa: E731
        crop = data.get("crop")
        return cls(**{**data, "shape": tuple(int(s) for s in data["shape"]), "mean": fix(data["mean"]), "std": fix(data["std"]),
                      "crop": tuple(int(c) for c in crop) if crop is not None else None})

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

    def read_image(self, source, name: str | None = None) -> np.ndarray:
        """One image (a path or an open file) as uint8 (channels, height, width), decoded as this preprocessing says.

        Raises ValueError naming the file if it cannot be read, is smaller than ``crop``, or (without
        ``resize``) does not have the size the model expects.
        """
        from PIL import Image, ImageOps, UnidentifiedImageError

        name = name or str(getattr(source, "name", source))
        if self.kind != "image":
            raise ValueError(f"this model takes feature vectors ({self.shape[0]} values), not images such as {name}.")
        channels, height, width = self.shape
        try:
            with Image.open(source) as opened:
                image = opened.convert("L" if channels == 1 else "RGB")
        except (UnidentifiedImageError, OSError) as error:
            raise ValueError(f"cannot read image {name}: {error}") from None
        if self.crop is not None:
            top, left, crop_h, crop_w = self.crop
            if image.width < left + crop_w or image.height < top + crop_h:
                raise ValueError(f"image {name} is {image.width}x{image.height} (width x height), too small for the model's crop of "
                                 f"{crop_w}x{crop_h} at ({left}, {top}); it expects images like its training images.")
            image = image.crop((left, top, left + crop_w, top + crop_h))
        if self.invert:
            image = ImageOps.invert(image)
        if self.pad_to_aspect:
            target = width / height
            padded = (max(image.width, round(image.height * target)), max(image.height, round(image.width / target)))
            canvas = Image.new(image.mode, padded, 0)
            canvas.paste(image, ((padded[0] - image.width) // 2, (padded[1] - image.height) // 2))
            image = canvas
        if self.resize:
            image = image.resize((width, height), _RESAMPLE[self.resample])
        array = np.asarray(image, dtype=np.uint8)
        array = array[None] if array.ndim == 2 else array.transpose(2, 0, 1)
        if array.shape != tuple(self.shape):
            raise ValueError(f"image {name} is {array.shape[2]}x{array.shape[1]} (width x height) but the model expects "
                             f"{width}x{height} and stores no resize; resize it, or train with an image size.")
        return array

    def read_images(self, files: Sequence[str | os.PathLike]) -> np.ndarray:
        """Image files as uint8 (n, channels, height, width), each decoded by :meth:`read_image`."""
        return np.stack([self.read_image(f) for f in files]) if len(files) else np.zeros((0, *self.shape), np.uint8)


@dataclass
class LabeledSet:
    """The one labelled-set type every loader returns: inputs ``X`` (n, ...), one label each (``labels``: a class, an
    identity, a person), their ids (file names), the preprocessing, and per-sample extras (``extra``: a re-id image's
    camera and frame, a signature's forgery flag and number).

    ``prepared`` says whether ``X`` already went through ``preprocessing.apply`` (network-ready floats: MNIST, digits,
    image folders, Omniglot) or holds the decoded images (uint8), as the verification and re-identification loaders
    give them, whose standardisation is fitted on each training part.

    Variable-length sequences (pen trajectories) are zero-padded into ``X`` (n, longest, len(channels)), with each
    one's ``lengths`` and the ``channels`` named; :attr:`mask` marks the real points.
    """

    X: np.ndarray
    labels: np.ndarray
    preprocessing: Preprocessing
    ids: list[str] = field(default_factory=list)
    extra: dict[str, np.ndarray] = field(default_factory=dict)
    name: str = ""
    prepared: bool = True
    lengths: np.ndarray | None = None  # (n,) real points of each padded sequence
    channels: tuple[str, ...] = ()  # the names of a sequence's last axis

    @property
    def mask(self) -> np.ndarray:
        """(n, longest) booleans: True at each sequence's real points (all True for fixed-size inputs)."""
        if self.lengths is None:
            return np.ones(self.X.shape[:2], dtype=bool)
        return np.arange(self.X.shape[1]) < self.lengths[:, None]

    def sequences(self) -> list[np.ndarray]:
        """Each sample's sequence without its padding, (length, channels)."""
        lengths = self.lengths if self.lengths is not None else np.full(len(self.X), self.X.shape[1])
        return [x[:n] for x, n in zip(self.X, lengths)]

    def subset(self, mask: np.ndarray) -> "LabeledSet":
        """The samples where ``mask`` is true."""
        mask = np.asarray(mask, dtype=bool)
        ids = [i for i, keep in zip(self.ids, mask) if keep] if self.ids else []
        lengths = self.lengths[mask] if self.lengths is not None else None
        return replace(self, X=self.X[mask], labels=self.labels[mask], ids=ids, extra={k: v[mask] for k, v in self.extra.items()},
                       lengths=lengths)

    def of(self, labels: Sequence) -> "LabeledSet":
        """The samples of the given labels (raises naming any that do not occur)."""
        missing = sorted(set(labels) - set(self.labels.tolist()), key=str)
        if missing:
            raise ValueError(f"label(s) {missing[:10]} do not occur in {self.name or 'this set'}.")
        return self.subset(np.isin(self.labels, list(labels)))


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
    raw, y, default, ids = _load_raw(name, split, data_dir, image_size, labels, label_column, preprocessing)
    prep = preprocessing or default
    return LabeledSet(prep.apply(raw), y, prep, ids)


def _load_raw(name, split, data_dir, image_size, labels, label_column, preprocessing) -> tuple[np.ndarray, np.ndarray, Preprocessing, list[str]]:
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
        return load_image_folder(path, image_size=image_size, preprocessing=preprocessing)
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
    root: str | os.PathLike, *, image_size: int | None = None, grayscale: bool = True, preprocessing: Preprocessing | None = None
) -> tuple[np.ndarray, np.ndarray, Preprocessing, list[str]]:
    """Raw images (n, channels, height, width) uint8 under ``root/<class>/<file>``, labels (folder names),
    their preprocessing and ids.

    With ``preprocessing`` (a model's), each file is decoded by it. Otherwise images must share one size
    unless ``image_size`` is given (then each is resized to a square of that side), and the default
    preprocessing scales to [0, 1] and standardises with their own mean and std. Unreadable files raise
    naming the file.
    """
    root = Path(root)
    if not root.is_dir():
        raise DatasetNotFoundError(f"image folder {root} does not exist.")
    files = sorted(p for p in root.glob("*/*") if p.suffix.lower() in IMAGE_SUFFIXES)
    if not files:
        raise DatasetNotFoundError(f"{root} holds no images in class sub-folders (expected {root}/<class>/<image>{IMAGE_SUFFIXES[0]}).")
    labels = np.array([p.parent.name for p in files])
    ids = [str(p.relative_to(root)) for p in files]
    if preprocessing is not None:
        return preprocessing.read_images(files), labels, preprocessing, ids
    stack = read_images(files, image_size=image_size, grayscale=grayscale)
    scaled = stack.astype(np.float32) / 255
    prep = Preprocessing("image", tuple(stack.shape[1:]), scale=1 / 255, mean=float(scaled.mean()), std=float(scaled.std() or 1.0), resize=bool(image_size))
    return stack, labels, prep, ids


def read_images(files: Sequence[Path], *, image_size: int | None = None, grayscale: bool = True) -> np.ndarray:
    """Images as uint8 (n, channels, height, width); all one size unless ``image_size`` resizes them to squares."""
    from PIL import Image, UnidentifiedImageError

    channels = 1 if grayscale else 3
    if image_size:
        return Preprocessing("image", (channels, image_size, image_size), resize=True).read_images(files)
    arrays = []
    for path in files:
        try:
            with Image.open(path) as image:
                arrays.append(np.asarray(image.convert("L" if grayscale else "RGB"), dtype=np.uint8))
        except (UnidentifiedImageError, OSError) as error:
            raise ValueError(f"cannot read image {path}: {error}") from None
    shapes = {a.shape for a in arrays}
    if len(shapes) > 1:
        raise ValueError(f"images have different sizes {sorted(shapes)[:4]}; pass an image size (CLI: --image-size) to resize them.")
    stack = np.stack(arrays)
    return stack[:, None] if grayscale else stack.transpose(0, 3, 1, 2)
