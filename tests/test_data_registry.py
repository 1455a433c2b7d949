"""The registry: listing, built-in digits, resizing, fixed splits, the MNIST test split."""

from pathlib import Path

import numpy as np
import pytest

from cnnviz.data.dataset import DatasetError
from cnnviz.data.digits import read_digits
from cnnviz.data.registry import DATASETS, list_datasets, load_dataset
from cnnviz.data.standard import load_mnist_test_split

SHARED_MNIST = Path(__file__).resolve().parents[2] / "shared" / "data" / "mnist"


@pytest.fixture(autouse=True)
def empty_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("CNNVIZ_CACHE_DIR", str(tmp_path / "cache"))


def test_list_datasets():
    infos = {info.name: info for info in list_datasets()}
    assert set(infos) == {"shapes", "outlines", "digits", "digits-32", "digits-8x8", "mnist",
                          "fashion-mnist", "cifar10"}
    assert infos["digits"].input_shape == (28, 28, 1) and infos["digits"].size == 1797
    assert infos["cifar10"].input_shape == (32, 32, 3) and infos["cifar10"].num_classes == 10
    assert infos["digits"].cached() and infos["digits"].builtin
    assert not infos["mnist"].cached() and not infos["mnist"].builtin


def test_digits_native():
    x, y = read_digits()
    assert x.shape == (1797, 8, 8, 1) and x.dtype == np.uint8 and x.max() == 255
    assert np.bincount(y).tolist() == [178, 182, 177, 183, 181, 182, 181, 179, 174, 180]
    # First image of the UCI file: its top row is 0 0 5 13 9 1 0 0 (of 16).
    assert x[0, 0, :, 0].tolist() == [0, 0, 80, 207, 143, 16, 0, 0]
    dataset = load_dataset("digits-8x8")
    assert dataset.input_shape == (8, 8, 1)
    total = len(dataset.x_train) + len(dataset.x_val) + len(dataset.x_test)
    assert total == 1797 and len(dataset.x_test) == 359


def test_digits_upscaled_fits_lenet5():
    dataset = load_dataset("digits")
    assert dataset.name == "digits" and dataset.input_shape == (28, 28, 1)
    assert dataset.x_train.dtype == np.uint8 and dataset.num_classes == 10
    # Bilinear: the mean brightness survives upscaling.
    native = load_dataset("digits-8x8")
    assert abs(dataset.x_test.mean() - native.x_test.mean()) < 3


def test_splits_are_fixed_by_seed_and_test_by_nothing():
    a, b, c = (load_dataset("digits-8x8", seed=s) for s in (0, 0, 1))
    np.testing.assert_array_equal(a.x_val, b.x_val)
    np.testing.assert_array_equal(a.x_test, c.x_test)
    assert not np.array_equal(a.x_val, c.x_val)
    assert len(load_dataset("digits-8x8", validation_fraction=0).x_val) == 0


def test_image_size_resizes_any_dataset():
    dataset = load_dataset("digits-8x8", image_size=16)
    assert dataset.input_shape == (16, 16, 1) and dataset.x_val.shape[1:] == (16, 16, 1)
    with pytest.raises(DatasetError, match="image size must be a whole number from 1 to 1024"):
        load_dataset("digits", image_size=0)


def test_unknown_name():
    with pytest.raises(DatasetError, match="unknown dataset 'mnsit'.*folder:PATH"):
        load_dataset("mnsit")


def test_cached_checks_the_files(tmp_path):
    info = DATASETS["fashion-mnist"].info
    for file in ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte",
                 "t10k-images-idx3-ubyte"):
        (tmp_path / file).touch()
    assert not info.cached(tmp_path)
    (tmp_path / "t10k-labels-idx1-ubyte.gz").touch()
    assert info.cached(tmp_path)
    (tmp_path / "cifar-10-batches-bin").mkdir()
    assert DATASETS["cifar10"].info.cached(tmp_path)


@pytest.mark.skipif(not SHARED_MNIST.is_dir(), reason="shared/data/mnist is not there")
def test_mnist_test_split():
    dataset = load_mnist_test_split(SHARED_MNIST)
    assert (len(dataset.x_train), len(dataset.x_val), len(dataset.x_test)) == (8000, 0, 2000)
    assert np.bincount(dataset.y_test).tolist() == [196, 227, 206, 202, 196, 178, 192, 206,
                                                    195, 202]
    with_val = load_mnist_test_split(SHARED_MNIST, validation_fraction=0.1)
    np.testing.assert_array_equal(with_val.x_test, dataset.x_test)
    assert abs(len(with_val.x_val) - 800) <= 5  # stratified: rounded per class


def test_mnist_test_split_needs_the_files(tmp_path):
    with pytest.raises(DatasetError, match="t10k-images-idx3-ubyte.gz.*not found"):
        load_mnist_test_split(tmp_path)
