"""The standard datasets: MNIST, Fashion-MNIST and CIFAR-10, downloaded once, then offline.

Each is described by the files its publishers serve (name, size, sha256) and the mirrors
that serve them. Files are looked for in the folder the user names (`data_dir`), else in
the per-user cache, where missing ones are downloaded. In either folder a file may also
sit unpacked (an IDX file gunzipped, the CIFAR archive extracted): people often have
them that way. The standard test split is the test split; validation comes from train.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from cnnviz.core.i18n import Message, marked
from cnnviz.data.cache import dataset_cache_dir, is_intact
from cnnviz.data.cifar import read_cifar10
from cnnviz.data.dataset import Dataset, DatasetError, split_off_test
from cnnviz.data.download import Progress, RemoteFile, download
from cnnviz.data.idx import read_idx_images_labels

Arrays = tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]  # x_train, y_train, x_test, y_test


@dataclass(frozen=True)
class StandardDataset:
    name: str
    description: Message
    class_names: tuple[str, ...]  # English identifiers, marked to be shown translated
    input_shape: tuple[int, int, int]
    size: int  # images in train and test together
    files: tuple[RemoteFile, ...]
    unpacked: tuple[str, ...]  # for each file, the name it has once unpacked
    mirrors: tuple[str, ...]  # base URLs, tried in order
    # read(this dataset, its located files in the order of `files`)
    read: Callable[[StandardDataset, list[Path]], Arrays]


_IDX_UNPACKED = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte",
                 "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")


def _read_idx_dataset(spec: StandardDataset, paths: list[Path]) -> Arrays:
    """The IDX files' headers are checked against the dataset's image size and count
    before any of their data is read."""
    shape = spec.input_shape[:2]
    x_train, y_train = read_idx_images_labels(paths[0], paths[1], shape, spec.size)
    x_test, y_test = read_idx_images_labels(paths[2], paths[3], shape, spec.size)
    return x_train, y_train, x_test, y_test


def _idx_files(sizes_and_sums: tuple[tuple[int, str], ...]) -> tuple[RemoteFile, ...]:
    return tuple(RemoteFile(f"{name}.gz", size, sha256)
                 for name, (size, sha256) in zip(_IDX_UNPACKED, sizes_and_sums, strict=True))


# Sizes and sha256 of the files as their publishers serve them (the values TensorFlow
# Datasets records, which match the md5 sums the authors list).
STANDARD: dict[str, StandardDataset] = {
    "mnist": StandardDataset(
        "mnist", Message("Handwritten digits 0-9 (LeCun, Cortes, Burges), 28x28 gray"),
        tuple("0123456789"), (28, 28, 1), 70_000,
        _idx_files((
            (9_912_422, "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609"),
            (28_881, "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c"),
            (1_648_877, "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6"),
            (4_542, "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6"))),
        _IDX_UNPACKED,
        # The original host (last) is often down; the first two are the copies that
        # torchvision and TensorFlow Datasets download from.
        ("https://ossci-datasets.s3.amazonaws.com/mnist",
         "https://storage.googleapis.com/cvdf-datasets/mnist",
         "http://yann.lecun.com/exdb/mnist"),
        _read_idx_dataset),
    "fashion-mnist": StandardDataset(
        "fashion-mnist", Message("Zalando clothing photos in 10 classes (Xiao, Rasul, "
                                 "Vollgraf), 28x28 gray"),
        (marked("T-shirt/top"), marked("Trouser"), marked("Pullover"), marked("Dress"),
         marked("Coat"), marked("Sandal"), marked("Shirt"), marked("Sneaker"), marked("Bag"),
         marked("Ankle boot")), (28, 28, 1), 70_000,
        _idx_files((
            (26_421_880, "3aede38d61863908ad78613f6a32ed271626dd12800ba2636569512369268a84"),
            (29_515, "a04f17134ac03560a47e3764e11b92fc97de4d1bfaf8ba1a3aa29af54cc90845"),
            (4_422_102, "346e55b948d973a97e58d2351dde16a484bd415d4595297633bb08f03db6a073"),
            (5_148, "67da17c76eaffca5446c3361aaab5c3cd6d1c2608764d35dfb1850b086bf8dd5"))),
        _IDX_UNPACKED,
        ("http://fashion-mnist.s3-website.eu-central-1.amazonaws.com",
         "https://raw.githubusercontent.com/zalandoresearch/fashion-mnist/master/data/fashion"),
        _read_idx_dataset),
    "cifar10": StandardDataset(
        "cifar10", Message("Small photos of 10 object classes (Krizhevsky), 32x32 colour"),
        (marked("airplane"), marked("automobile"), marked("bird"), marked("cat"),
         marked("deer"), marked("dog"), marked("frog"), marked("horse"), marked("ship"),
         marked("truck")), (32, 32, 3), 60_000,
        (RemoteFile("cifar-10-binary.tar.gz", 170_052_171,
                    "c4a38c50a1bc5f3a1c5537f2155ab9d68f9f25eb1ed8d9ddda3db29a59bca1dd"),),
        ("cifar-10-batches-bin",),
        ("https://www.cs.toronto.edu/~kriz",),
        lambda spec, paths: read_cifar10(paths[0])),
}


def _find(spec: StandardDataset, directory: Path) -> list[Path | None]:
    """Each file's path in `directory`, packed or unpacked, or None where it is missing."""
    found: list[Path | None] = []
    for file, unpacked in zip(spec.files, spec.unpacked, strict=True):
        candidates = (directory / file.name, directory / unpacked)
        found.append(next((p for p in candidates if p.exists()), None))
    return found


def _by_hand(spec: StandardDataset, missing: list[RemoteFile], directory: Path,
             is_cache: bool) -> Message:
    urls = "\n".join(f"  {spec.mirrors[0]}/{file.name}" for file in missing)
    if is_cache:
        return Message("To install {name} by hand, download\n{urls}\ninto {folder} (or into "
                       "a folder of your choice and give it as the data folder, --data-dir on "
                       "the command line).", name=spec.name, urls=urls, folder=directory)
    return Message("To install {name} by hand, download\n{urls}\ninto {folder}.",
                   name=spec.name, urls=urls, folder=directory)


def is_cached(name: str, data_dir: Path | None = None) -> bool:
    """Whether every file of dataset `name` is in `data_dir` (if given) or the cache."""
    spec = STANDARD[name]
    return all(p is not None for p in _find(spec, data_dir or dataset_cache_dir(name)))


def locate(spec: StandardDataset, data_dir: Path | None, progress: Progress | None
           ) -> list[Path]:
    """The dataset's files: from `data_dir` if given, else the cache, downloading there."""
    directory = data_dir or dataset_cache_dir(spec.name)
    found = _find(spec, directory)
    missing = [f for f, p in zip(spec.files, found, strict=True) if p is None]
    if missing and data_dir is not None:
        names = ", ".join(f.name for f in missing)
        raise DatasetError(Message("{name}: {files} not found in {folder}.\n{how}",
                                   name=spec.name, files=names, folder=data_dir,
                                   how=_by_hand(spec, missing, data_dir, is_cache=False)))
    for i, (file, path) in enumerate(zip(spec.files, found, strict=True)):
        if path is None:
            try:
                found[i] = download(file, spec.mirrors, directory, progress)
            except DatasetError as exc:
                raise DatasetError(Message("{name}: {reason}\n{how}", name=spec.name,
                                           reason=exc, how=_by_hand(spec, missing, directory,
                                                                    is_cache=True))) from None
        elif path.name == file.name:  # as its publishers serve it: its sum is known
            _verify(spec, file, path, in_cache=data_dir is None)
    return [p for p in found if p is not None]


def _verify(spec: StandardDataset, file: RemoteFile, path: Path, in_cache: bool) -> None:
    """DatasetError unless `path` holds the bytes its publishers serve. (An unpacked file
    has no published sum; the format's own checks are all it gets.)"""
    if is_intact(path, file.size, file.sha256):
        return
    if in_cache:
        raise DatasetError(Message("{name}: {path} is not the file its publishers serve (its "
                                   "size or sha256 differs: it is damaged, or another file). "
                                   "Delete it and load {name} again: a fresh copy is "
                                   "downloaded.", name=spec.name, path=path))
    raise DatasetError(Message("{name}: {path} is not the file its publishers serve (its size "
                               "or sha256 differs: it is damaged, or another file). Replace "
                               "it with a fresh download of {url}.", name=spec.name, path=path,
                               url=f"{spec.mirrors[0]}/{file.name}"))


def load_standard(name: str, *, seed: int, validation_fraction: float,
                  data_dir: Path | None = None, progress: Progress | None = None) -> Dataset:
    spec = STANDARD[name]
    x, y, x_test, y_test = spec.read(spec, locate(spec, data_dir, progress))
    return Dataset.from_train_test(name, spec.class_names, x, y, x_test, y_test, seed=seed,
                                   validation_fraction=validation_fraction,
                                   description=spec.description)


def load_mnist_test_split(directory: Path, *, seed: int = 0, validation_fraction: float = 0.0,
                          test_fraction: float = 0.2) -> Dataset:
    """A small MNIST from its 10,000 test images alone (t10k-*-ubyte[.gz] in `directory`):
    a fixed stratified `test_fraction` (2,000) held out for testing, the rest (8,000) to
    train on. For benchmarks and demos where only the test files are at hand."""
    spec = STANDARD["mnist"]
    paths = _find(spec, directory)[2:]
    if None in paths:
        raise DatasetError(Message("mnist test files (t10k-images-idx3-ubyte.gz, "
                                   "t10k-labels-idx1-ubyte.gz) not found in {folder}",
                                   folder=directory))
    x, y = read_idx_images_labels(*paths, spec.input_shape[:2], spec.size)  # type: ignore[misc]
    x_train, y_train, x_test, y_test = split_off_test(x, y, test_fraction)
    return Dataset.from_train_test(
        "mnist-test-split", spec.class_names, x_train, y_train, x_test, y_test, seed=seed,
        validation_fraction=validation_fraction,
        description=Message("The MNIST test set split 80/20 into train and test"))
