"""IDX and CIFAR-10 binary readers, on small files written here in the real formats and on
the MNIST test set in shared/ when it is there."""

import gzip
import hashlib
import io
import tarfile
from pathlib import Path

import numpy as np
import pytest

from cnnviz.data.cifar import RECORD_BYTES, TEST_BATCH, TRAIN_BATCHES, parse_batch, read_cifar10
from cnnviz.data.dataset import DatasetError
from cnnviz.data.idx import read_idx, read_idx_images_labels

SHARED_MNIST = Path(__file__).resolve().parents[2] / "shared" / "data" / "mnist"


def idx_bytes(array: np.ndarray) -> bytes:
    """An IDX file of a uint8 array: 0, 0, type 0x08, ndim, big-endian dims, data."""
    header = bytes([0, 0, 0x08, array.ndim]) + np.asarray(array.shape, ">u4").tobytes()
    return header + np.ascontiguousarray(array, np.uint8).tobytes()


def cifar_bytes(images: np.ndarray, labels: np.ndarray) -> bytes:
    """CIFAR binary records: label byte, then red, green, blue planes of 32x32."""
    planes = images.transpose(0, 3, 1, 2).reshape(len(images), -1)
    return np.concatenate([labels[:, None].astype(np.uint8), planes], axis=1).tobytes()


@pytest.fixture
def digits_pair():
    rng = np.random.default_rng(0)
    return rng.integers(0, 256, (6, 4, 5), dtype=np.uint8), np.arange(6, dtype=np.uint8) % 3


@pytest.mark.parametrize("compress", [False, True])
def test_idx_roundtrip(tmp_path, digits_pair, compress):
    images, labels = digits_pair
    pack = gzip.compress if compress else bytes
    (tmp_path / "img").write_bytes(pack(idx_bytes(images)))
    (tmp_path / "lab").write_bytes(pack(idx_bytes(labels)))
    x, y = read_idx_images_labels(tmp_path / "img", tmp_path / "lab")
    assert x.shape == (6, 4, 5, 1) and x.dtype == np.uint8 and y.dtype == np.int32
    np.testing.assert_array_equal(x[..., 0], images)
    np.testing.assert_array_equal(y, labels)


@pytest.mark.parametrize("damage, message", [
    (lambda b: b"\x08\x03" + b[2:], "not an IDX file"),
    (lambda b: b[:2] + b"\x0d" + b[3:], "element type 0x0d"),
    (lambda b: b[:-7], "truncated: the header promises 6x4x5 = 120 bytes of data, the file "
                       "holds 113"),
    (lambda b: b + b"xx", "trailing bytes"),
    (lambda b: b[:9], "truncated IDX header"),
    (lambda b: b"", "not an IDX file"),
])
def test_idx_damaged(tmp_path, digits_pair, damage, message):
    path = tmp_path / "img"
    path.write_bytes(damage(idx_bytes(digits_pair[0])))
    with pytest.raises(DatasetError, match=message.replace("(", r"\(")):
        read_idx(path)


def test_idx_truncated_gzip(tmp_path, digits_pair):
    path = tmp_path / "img.gz"
    path.write_bytes(gzip.compress(idx_bytes(digits_pair[0]))[:-10])
    with pytest.raises(DatasetError, match="damaged or truncated gzip"):
        read_idx(path)


def test_idx_missing_file(tmp_path):
    with pytest.raises(DatasetError, match="cannot read"):
        read_idx(tmp_path / "nope")


def test_idx_count_and_rank_mismatch(tmp_path, digits_pair):
    images, labels = digits_pair
    (tmp_path / "img").write_bytes(idx_bytes(images))
    (tmp_path / "lab").write_bytes(idx_bytes(labels[:5]))
    with pytest.raises(DatasetError, match="holds 6 images but lab holds 5 labels"):
        read_idx_images_labels(tmp_path / "img", tmp_path / "lab")
    with pytest.raises(DatasetError, match="expected labels"):
        read_idx_images_labels(tmp_path / "img", tmp_path / "img")
    with pytest.raises(DatasetError, match="expected images"):
        read_idx_images_labels(tmp_path / "lab", tmp_path / "lab")


@pytest.mark.skipif(not SHARED_MNIST.is_dir(), reason="shared/data/mnist is not there")
def test_shared_mnist_test_set():
    images = SHARED_MNIST / "t10k-images-idx3-ubyte.gz"
    labels = SHARED_MNIST / "t10k-labels-idx1-ubyte.gz"
    # The published sha256 of the decompressed files (shared/data/mnist/README.md).
    assert hashlib.sha256(gzip.decompress(images.read_bytes())).hexdigest() == (
        "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7")
    x, y = read_idx_images_labels(images, labels)
    assert x.shape == (10_000, 28, 28, 1) and x.dtype == np.uint8
    assert np.bincount(y).tolist() == [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]
    assert x.max() == 255 and x[:, 0, 0].max() == 0  # ink on a black background


def _cifar_batches(records_per_batch=3):
    rng = np.random.default_rng(1)
    batches = {}
    for name in (*TRAIN_BATCHES, TEST_BATCH):
        images = rng.integers(0, 256, (records_per_batch, 32, 32, 3), dtype=np.uint8)
        labels = rng.integers(0, 10, records_per_batch, dtype=np.uint8)
        batches[name] = (images, labels)
    return batches


def _write_archive(path: Path, contents: dict[str, bytes]) -> None:
    with tarfile.open(path, "w:gz") as archive:
        for name, data in contents.items():
            info = tarfile.TarInfo(f"cifar-10-batches-bin/{name}")
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))


def _check(result, batches):
    x_train, y_train, x_test, y_test = result
    assert x_train.shape == (15, 32, 32, 3) and x_test.shape == (3, 32, 32, 3)
    np.testing.assert_array_equal(x_train[:3], batches["data_batch_1.bin"][0])
    np.testing.assert_array_equal(y_train[-3:], batches["data_batch_5.bin"][1])
    np.testing.assert_array_equal(x_test, batches[TEST_BATCH][0])
    assert y_test.dtype == np.int32


def test_cifar_from_folder_and_archive(tmp_path):
    batches = _cifar_batches()
    folder = tmp_path / "cifar-10-batches-bin"
    folder.mkdir()
    for name, (images, labels) in batches.items():
        (folder / name).write_bytes(cifar_bytes(images, labels))
    _check(read_cifar10(folder), batches)
    archive = tmp_path / "cifar-10-binary.tar.gz"
    _write_archive(archive, {n: cifar_bytes(*b) for n, b in batches.items()})
    _check(read_cifar10(archive), batches)


def test_cifar_pixel_layout():
    # One record: red plane all 1, green all 2, blue all 3 -> pixel (r, g, b) = (1, 2, 3).
    record = bytes([7]) + bytes([1]) * 1024 + bytes([2]) * 1024 + bytes([3]) * 1024
    x, y = parse_batch(record, "test")
    assert y.tolist() == [7] and x.shape == (1, 32, 32, 3)
    assert x[0, 5, 9].tolist() == [1, 2, 3]


def test_cifar_damaged(tmp_path):
    batches = {n: cifar_bytes(*b) for n, b in _cifar_batches().items()}
    truncated = dict(batches, **{TEST_BATCH: batches[TEST_BATCH][:-100]})
    _write_archive(tmp_path / "short.tar.gz", truncated)
    with pytest.raises(DatasetError, match=f"test_batch.bin: {3 * RECORD_BYTES - 100} bytes"):
        read_cifar10(tmp_path / "short.tar.gz")
    _write_archive(tmp_path / "partial.tar.gz", {TEST_BATCH: batches[TEST_BATCH]})
    with pytest.raises(DatasetError, match="archive lacks data_batch_1.bin"):
        read_cifar10(tmp_path / "partial.tar.gz")
    good = tmp_path / "good.tar.gz"
    _write_archive(good, batches)
    cut = tmp_path / "cut.tar.gz"
    cut.write_bytes(good.read_bytes()[:5000])
    with pytest.raises(DatasetError, match="damaged or truncated archive"):
        read_cifar10(cut)
    (tmp_path / "empty").mkdir()
    with pytest.raises(DatasetError, match="data_batch_1.bin: cannot read"):
        read_cifar10(tmp_path / "empty")
