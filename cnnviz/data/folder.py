"""`folder:PATH`: the user's own images, one sub-folder per class.

PATH/cats/*.jpg, PATH/dogs/*.png ... become classes "cats", "dogs" (sorted by name).
Every image is centre-cropped to a square and resized, so photos keep their proportions.
The dataset is RGB if any image has colour, else one gray channel. Files that cannot be
read are skipped and named in the dataset's notes, so one bad file does not cost the rest;
so are images too large to decode safely. Before reading, the memory the images will
take at the chosen size is checked against what the machine has free.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from cnnviz.core.i18n import Message, tr
from cnnviz.core.memory import available_memory, format_bytes
from cnnviz.data.dataset import Dataset, DatasetError, split_off_test
from cnnviz.data.download import Progress

EXTENSIONS = {".png", ".jpg", ".jpeg", ".bmp"}
DEFAULT_SIZE = 32
MAX_IMAGE_SIZE = 1024  # the largest side images are resized to, for any dataset
MAX_PIXELS = 50_000_000  # larger images (a 50-megapixel photo) are skipped, not decoded
_TEST_FRACTION = 0.2
_PROGRESS_EVERY = 50  # images between progress reports


def _class_files(root: Path) -> dict[str, list[Path]]:
    if not root.is_dir():
        raise DatasetError(Message("folder dataset: {path} is not a folder", path=root))
    classes = {}
    for folder in sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")):
        images = sorted(p for p in folder.iterdir()
                        if p.is_file() and p.suffix.lower() in EXTENSIONS)
        if images:
            classes[folder.name] = images
    if len(classes) < 2:
        raise DatasetError(Message("folder dataset {path}: needs at least two sub-folders of "
                                   "images, one per class (PNG, JPEG or BMP); found {count} "
                                   "({names})", path=root, count=len(classes),
                                   names=", ".join(classes) or tr("none")))
    return classes


def _read_image(path: Path, size: int) -> np.ndarray:
    """(size, size, 3) uint8: upright (EXIF), centre-cropped square, resized bilinear."""
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        with Image.open(path) as image:  # reads the header only
            if image.width * image.height > MAX_PIXELS:
                raise ValueError(tr("{width}x{height} pixels, more than the {limit:,} read",
                                    width=image.width, height=image.height, limit=MAX_PIXELS))
            upright = ImageOps.exif_transpose(image).convert("RGB")
    square = ImageOps.fit(upright, (size, size), Image.Resampling.BILINEAR)
    return np.asarray(square)


def load_folder(path: str | Path, *, image_size: int | None = None, seed: int = 0,
                validation_fraction: float = 0.1, progress: Progress | None = None) -> Dataset:
    root = Path(path).expanduser()
    size = DEFAULT_SIZE if image_size is None else image_size
    check_image_size(size)
    classes = _class_files(root)
    total = sum(len(paths) for paths in classes.values())
    needed, free = 2 * total * size * size * 3, available_memory()  # the images, and a copy
    if free is not None and needed > free:
        raise DatasetError(Message("folder dataset {path}: {count:,} images of {size}x{size} "
                                   "need about {needed} of memory, more than the {free} free; "
                                   "choose a smaller image size", path=root, count=total,
                                   size=size, needed=format_bytes(needed),
                                   free=format_bytes(free)))
    images, labels, notes = [], [], []
    for label, paths in enumerate(classes.values()):
        for path in paths:
            try:
                images.append(_read_image(path, size))
                labels.append(label)
            # Pillow's decoders raise what they like on a damaged file (OSError, ValueError,
            # SyntaxError, struct.error, ...): whatever it is, the file is skipped, not the set
            except Exception as exc:  # noqa: BLE001
                why = (tr("damaged, or not a PNG, JPEG or BMP image")
                       if isinstance(exc, UnidentifiedImageError) else str(exc))
                notes.append(tr("skipped {path}: cannot read it ({reason})",
                                path=path.relative_to(root), reason=why))
                if progress:
                    progress(len(images) + len(notes), total, notes[-1])
            done = len(images) + len(notes)
            if progress and (done % _PROGRESS_EVERY == 0 or done == total):
                progress(done, total, tr("reading images from {path}", path=root))
    if len(set(labels)) < 2:
        raise DatasetError(Message("folder dataset {path}: images of fewer than two classes "
                                   "could be read:\n{notes}", path=root,
                                   notes="\n".join(notes)))
    x = np.stack(images)  # (N, size, size, 3)
    is_gray = bool((x[..., :1] == x).all())
    if is_gray:
        x = x[..., :1]
    y = np.asarray(labels, np.int32)
    x_rest, y_rest, x_test, y_test = split_off_test(x, y, _TEST_FRACTION)
    if not len(x_test):
        notes.append(tr("the test split is empty: {share:.0%} of each class is set aside for "
                        "testing, which is no image with this few per class; add images to "
                        "test on", share=_TEST_FRACTION))
    return Dataset.from_train_test(
        f"folder:{root}", tuple(classes), x_rest, y_rest, x_test, y_test, seed=seed,
        validation_fraction=validation_fraction, notes=tuple(notes),
        description=(Message("{count} images from {path}, {size}x{size} gray", count=len(x),
                             path=root, size=size) if is_gray else
                     Message("{count} images from {path}, {size}x{size} RGB", count=len(x),
                             path=root, size=size)))


def check_image_size(size: int) -> None:
    """DatasetError unless `size` is a side images can be resized to."""
    if isinstance(size, bool) or not isinstance(size, int) or not 1 <= size <= MAX_IMAGE_SIZE:
        raise DatasetError(Message("image size must be a whole number from 1 to {limit}, got "
                                   "{size!r}", limit=MAX_IMAGE_SIZE, size=size))
