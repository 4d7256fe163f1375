"""Image classification batches, and where images come from.

Images stay as they are stored (uint8 arrays, or file paths) until a batch needs them; then
they become 3-channel PIL images (grayscale is repeated) and go through the backbone's own
timm transforms, so each backbone sees the resolution and normalisation it was pretrained with.

Sources (each has `.load() -> {"train", "test", ["val"]: RawSplit}`):
- `FashionMNISTSource`: the idx files of the Debian package `dataset-fashion-mnist`.
- `DigitsSource`: scikit-learn's 8x8 handwritten digits (ships with sklearn).
- `ImageFolderSource`: one folder per class (torchvision `ImageFolder` layout).
- `ImageTableSource`: a table per split (CSV/TSV/JSONL/Parquet) of image paths and labels;
  multi-label as a list column or several 0/1 columns.
"""

from __future__ import annotations

import gzip
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image
from torch.utils.data import Dataset

from bakeoff.data.base import IndexedDataset, TaskData
from bakeoff.data.raw import RawSplit
from bakeoff.data.sources import FileSource
from bakeoff.errors import DataError

# -- turning a stored item into what the transforms expect ---------------------------------------


def to_rgb(item: Any) -> Image.Image:
    """A 3-channel PIL image from a uint8 array (H, W) / (H, W, C), a PIL image, a file path, or
    a Hugging Face `Image` feature as `to_pandas()` gives it ({"bytes": ..., "path": ...})."""
    if isinstance(item, dict):
        if item.get("bytes") is not None:
            import io

            with Image.open(io.BytesIO(item["bytes"])) as img:
                return img.convert("RGB")
        item = item.get("path")
    if isinstance(item, (str, os.PathLike)):
        try:
            with Image.open(item) as img:
                return img.convert("RGB")
        except (OSError, SyntaxError, ValueError) as err:  # PIL's errors for broken files
            # changed since setup screened it (`unreadable_images`): name it rather than PIL
            raise DataError(f"cannot read image {item}: {err}") from None
    if isinstance(item, np.ndarray):
        item = Image.fromarray(item)
    return item if item.mode == "RGB" else item.convert("RGB")


class RGBTransform:
    """`transform(to_rgb(item))`; a class rather than a lambda so DataLoader workers can pickle it."""

    def __init__(self, transform):
        self.transform = transform

    def __call__(self, item: Any) -> torch.Tensor:
        return self.transform(to_rgb(item))

    def __repr__(self) -> str:
        # What the feature cache keys a split's inputs by (models/feature_cache.py): the wrapped
        # transform's own repr (torchvision's lists every step and its settings), never this
        # object's address, which differs in every process and would miss the cache every time.
        return f"RGBTransform({self.transform!r})"


class ImageData(TaskData):
    """Batches `{"pixel_values": float (B, 3, H, W), "labels", "index": long (B,)}`; labels as the
    task collates them: long (B,) for a class, float (B, n_labels) 0/1 for label sets.

    `augment` picks the backbone's training transform (random resized crop, flip) for the train
    split; otherwise every split gets the evaluation transform (resize, centre crop).
    `image_size` (None: the backbone's pretrained size) rebuilds the transforms at another size
    when the backbone's preprocessing was made for a different one.
    """

    modality = "image"  # which backbones can take its batches (Backbone.modality)

    def __init__(self, *args, image_size: int | None = None, augment: bool = True, **kwargs):
        super().__init__(*args, **kwargs)
        self.image_size, self.augment = image_size, augment

    # From the backbone's preprocessing: given when the DataModule is built, or set after
    # `read()` (a run reads and checks its data before any weights load).
    @property
    def train_transform(self):
        return self._transforms()[0]

    @property
    def eval_transform(self):
        return self._transforms()[1]

    def _transforms(self):
        pp = self.preprocessing
        if pp is None:
            raise DataError("ImageData needs the backbone's preprocessing")
        if getattr(self, "_made_for", None) is not pp:
            self._made = self._make_transforms(pp)
            self._made_for = pp
        return self._made

    def _make_transforms(self, pp):
        size = self.image_size
        if size is None or tuple(pp.input_size[-2:]) == (size, size):
            return pp.train_transform, pp.eval_transform
        from timm.data import create_transform

        common = {
            "input_size": (3, size, size),
            "mean": pp.mean,
            "std": pp.std,
            "interpolation": getattr(pp, "interpolation", "bicubic"),
            "crop_pct": getattr(pp, "crop_pct", None),
        }
        return (
            create_transform(**common, is_training=True),
            create_transform(**common, is_training=False),
        )

    def make_dataset(self, split: RawSplit, targets, indices, train: bool) -> Dataset:
        transform = self.train_transform if train and self.augment else self.eval_transform
        return IndexedDataset(split.items, targets, indices, transform=RGBTransform(transform))

    def collate(self, samples: list) -> dict[str, torch.Tensor]:
        pixels, targets, index = zip(*samples, strict=True)
        return {
            "pixel_values": torch.stack(pixels).float(),
            **self.task.label_batch(list(targets), None),
            "index": torch.tensor(index, dtype=torch.long),
        }


# -- sources --------------------------------------------------------------------------------------

FASHION_MNIST_CLASSES = (
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
)

FASHION_MNIST_FILES = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}


def read_idx(data: bytes) -> np.ndarray:
    """An idx array (the MNIST format): magic 0x00 0x00 <dtype> <ndim>, big-endian dims, data."""
    if len(data) < 4 or data[0] != 0 or data[1] != 0 or data[2] != 0x08:
        raise ValueError("not an unsigned-byte idx file")
    ndim = data[3]
    shape = tuple(int.from_bytes(data[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim))
    offset = 4 + 4 * ndim
    arr = np.frombuffer(data, dtype=np.uint8, count=int(np.prod(shape)), offset=offset)
    return arr.reshape(shape)


class FashionMNISTSource:
    """Fashion-MNIST (60000 train / 10000 test, 28x28 grayscale, 10 classes) from local idx files.

    `root` holds the four idx files, gzipped (the Debian package `dataset-fashion-mnist`
    installs them in /usr/share/datasets/fashion-mnist) or not. With `cache_dir`, the files
    are unpacked once into `cache_dir/FashionMNIST/raw/` (torchvision's layout) and read from
    there. Nothing is ever downloaded.
    """

    label_names = list(FASHION_MNIST_CLASSES)  # the published class-id order

    def __init__(
        self, root: str = "/usr/share/datasets/fashion-mnist", cache_dir: str | None = None
    ) -> None:
        self.root = Path(root)
        self.cache_dir = Path(cache_dir) if cache_dir else None

    def _find(self, name: str) -> Path:
        for candidate in (self.root / name, self.root / f"{name}.gz"):
            if candidate.is_file():
                return candidate
        raise DataError(
            f"Fashion-MNIST file {self.root / name}.gz not found. Install the Debian package "
            "dataset-fashion-mnist (sudo apt-get install dataset-fashion-mnist) or set "
            "data.source.root to a folder with the idx files."
        )

    def _read(self, name: str) -> np.ndarray:
        path = self._find(name)
        if self.cache_dir is not None and path.suffix == ".gz":
            cached = self.cache_dir / "FashionMNIST" / "raw" / name
            if not cached.is_file():
                cached.parent.mkdir(parents=True, exist_ok=True)
                # unpack to a temp file and rename: parallel sweep jobs never read half a file
                fd, tmp = tempfile.mkstemp(dir=cached.parent, prefix=f".{name}.")
                with os.fdopen(fd, "wb") as out, gzip.open(path, "rb") as src:
                    shutil.copyfileobj(src, out)
                os.replace(tmp, cached)
            path = cached
        opener = gzip.open if path.suffix == ".gz" else open
        try:
            with opener(path, "rb") as f:
                return read_idx(f.read())
        except (OSError, ValueError) as err:
            raise DataError(f"cannot read Fashion-MNIST file {path}: {err}") from err

    def load(self) -> dict[str, RawSplit]:
        out = {}
        for split, (images_name, labels_name) in FASHION_MNIST_FILES.items():
            images, labels = self._read(images_name), self._read(labels_name)
            if len(images) != len(labels):
                raise DataError(
                    f"{self.root}: {len(images)} {split} images but {len(labels)} labels"
                )
            names = [FASHION_MNIST_CLASSES[y] for y in labels.tolist()]
            out[split] = RawSplit(items=images, labels=names)
        return out


class DigitsSource:
    """scikit-learn's handwritten digits: 1797 8x8 grayscale images, labels "0".."9".

    Ships with scikit-learn (offline); `test_fraction` of it becomes a stratified test split.
    """

    def __init__(self, test_fraction: float = 0.2, seed: int = 0) -> None:
        if not 0.0 < test_fraction < 1.0:
            raise DataError(f"data.source.test_fraction must be in (0, 1), got {test_fraction}")
        self.test_fraction, self.seed = test_fraction, seed

    def load(self) -> dict[str, RawSplit]:
        from sklearn.datasets import load_digits
        from sklearn.model_selection import train_test_split

        digits = load_digits()
        images = np.round(digits.images * (255.0 / 16.0)).astype(np.uint8)  # 0..16 -> 0..255
        labels = np.array([str(y) for y in digits.target])
        train, test = train_test_split(
            np.arange(len(labels)),
            test_size=self.test_fraction,
            random_state=self.seed,
            stratify=labels,
        )
        train, test = np.sort(train), np.sort(test)
        return {
            "train": RawSplit(items=images[train], labels=labels[train].tolist()),
            "test": RawSplit(items=images[test], labels=labels[test].tolist()),
        }


# Every image file bakeoff reads (folders for training, folders for bakeoff-predict): what PIL opens.
IMAGE_EXTENSIONS = (
    ".jpg",
    ".jpeg",
    ".png",
    ".ppm",
    ".pgm",
    ".bmp",
    ".gif",
    ".tif",
    ".tiff",
    ".webp",
)


def unreadable_image(path: str | Path) -> str | None:
    """Why the image at `path` cannot be decoded (corrupt, truncated, not an image), else None.

    Decodes the whole file (a truncated JPEG only fails there); JPEGs at reduced scale
    (`draft`), which reads every block for a fraction of the work.
    """
    try:
        with Image.open(path) as img:
            img.draft("RGB", (64, 64))
            img.load()
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError) as err:
        return f"{type(err).__name__}: {err}"
    return None


def unreadable_images(paths: list[str]) -> dict[str, str]:
    """path -> why, for each image that cannot be decoded; checked on a few threads (PIL
    releases the GIL while decoding)."""
    from concurrent.futures import ThreadPoolExecutor

    if not paths:
        return {}
    with ThreadPoolExecutor(max_workers=min(8, os.cpu_count() or 1)) as pool:
        reasons = list(pool.map(unreadable_image, paths))
    return {p: why for p, why in zip(paths, reasons, strict=True) if why is not None}


def without_unreadable(split: RawSplit) -> RawSplit:
    """`split` without the examples whose image cannot be decoded; those are in
    `dropped["unreadable_image"]` (the DataModule counts them, or fails under on_bad_rows=error)."""
    bad = unreadable_images([str(item) for item in split.items])
    if not bad:
        return split
    keep = [i for i, item in enumerate(split.items) if str(item) not in bad]
    out = split.subset(keep)
    out.dropped = {**split.dropped, "unreadable_image": [f"{p} ({why})" for p, why in bad.items()]}
    return out


class ImageFolderSource:
    """One folder per split, one sub-folder per class (`train_dir/<class>/<image>`).

    Class names are the sub-folder names; a class only in the test or val folder is an error.
    """

    def __init__(self, train_dir: str, test_dir: str, val_dir: str | None = None) -> None:
        self.dirs = {"train": train_dir, "test": test_dir, "val": val_dir}

    @staticmethod
    def _scan(split: str, directory: str) -> RawSplit:
        root = Path(directory)
        if not root.is_dir():
            raise DataError(f"data.source.{split}_dir: image folder {root} does not exist")
        paths, labels = [], []
        for class_dir in sorted(p for p in root.iterdir() if p.is_dir()):
            for file in sorted(class_dir.rglob("*")):
                if file.is_file() and file.suffix.lower() in IMAGE_EXTENSIONS:
                    paths.append(str(file))
                    labels.append(class_dir.name)
        if not paths:
            raise DataError(
                f"data.source.{split}_dir: no images in class sub-folders of {root} "
                f"(expected {root}/<class>/<image>{IMAGE_EXTENSIONS[0]})"
            )
        return without_unreadable(RawSplit(items=paths, labels=labels, path=str(root)))

    def load(self) -> dict[str, RawSplit]:
        return {s: self._scan(s, d) for s, d in self.dirs.items() if d is not None}


class ImageTableSource(FileSource):
    """A table per split (`.csv .tsv .jsonl .json .parquet`): an image path column and labels.

    `image_column` holds paths, absolute or relative to the table's own folder. `label_column` is
    as in the text tables (`bakeoff.data.sources.TableSource`): one column (a class, a list of
    labels, or labels in one string), or a list of 0/1 columns, whose names are then the labels
    in that order (also a label no train image has). Every image file must exist.
    """

    def __init__(
        self,
        train: str,
        test: str,
        image_column: str,
        label_column: str | list[str],
        val: str | None = None,
        extra_val: dict[str, str] | None = None,
    ) -> None:
        super().__init__(
            train=train,
            test=test,
            val=val,
            text_column=image_column,
            label_column=label_column,
            extra_val=extra_val,
        )
        self.image_column = image_column
        if not isinstance(self.label_column, str):  # 0/1 columns: the label order is theirs
            self.label_names = [str(c) for c in self.label_column]

    def read(self, split: str, location: str):
        df, where = super().read(split, location)
        column = self.image_column
        if column not in df.columns:
            raise DataError(
                f"data.source.image_column='{column}' is not a column of {where}; "
                f"its columns are: {', '.join(map(str, df.columns))}"
            )
        root = Path(location).expanduser().resolve().parent
        paths = [None if not isinstance(v, str) or not v else root / v for v in df[column]]
        missing = [str(q) for q in paths if q is not None and not q.is_file()]
        if missing:
            raise DataError(
                f"{where}: {len(missing)} image file(s) in column '{column}' not found, e.g. "
                f"{missing[0]} (relative paths are read from the table's folder)"
            )
        df = df.copy()
        df[column] = [None if q is None else str(q) for q in paths]
        return df, where

    def split(self, df, where: str) -> RawSplit:
        return without_unreadable(super().split(df, where))
