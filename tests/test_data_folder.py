"""`folder:PATH` datasets on PNGs generated in a temporary folder."""

import numpy as np
import pytest
from PIL import Image

from cnnviz.data.dataset import DatasetError
from cnnviz.data.registry import load_dataset


def _save(path, array):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(array).save(path)


def _make_folder(root, classes=("cats", "dogs"), per_class=10, colour=False, size=(20, 12)):
    rng = np.random.default_rng(0)
    for label, name in enumerate(classes):
        for i in range(per_class):
            shape = (size[1], size[0], 3) if colour else (size[1], size[0])
            image = np.full(shape, 40 + 100 * label, np.uint8)
            image[: i + 1] = rng.integers(0, 256, image[: i + 1].shape, dtype=np.uint8)
            _save(root / name / f"{i:02d}.png", image)
    return root


def test_gray_folder(tmp_path):
    root = _make_folder(tmp_path / "pets")
    (tmp_path / "pets" / "cats" / "notes.txt").write_text("not an image, ignored")
    calls = []
    dataset = load_dataset(f"folder:{root}", image_size=16, validation_fraction=0.25,
                           progress=lambda *a: calls.append(a))
    assert dataset.class_names == ("cats", "dogs")
    assert dataset.input_shape == (16, 16, 1) and dataset.x_train.dtype == np.uint8
    assert (len(dataset.x_train), len(dataset.x_val), len(dataset.x_test)) == (12, 4, 4)
    assert np.bincount(dataset.y_test).tolist() == [2, 2]  # stratified
    assert dataset.notes == () and calls[-1][:2] == (20, 20)


def test_colour_and_default_size_and_fixed_test_split(tmp_path):
    root = _make_folder(tmp_path / "pets", colour=True)
    _save(root / "cats" / "gray.png", np.zeros((8, 8), np.uint8))
    first = load_dataset(f"folder:{root}", seed=1)
    assert first.input_shape == (32, 32, 3)
    second = load_dataset(f"folder:{root}", seed=2)
    np.testing.assert_array_equal(first.x_test, second.x_test)
    assert not np.array_equal(first.x_val, second.x_val)


def test_unreadable_file_is_named_and_skipped(tmp_path):
    root = _make_folder(tmp_path / "pets")
    (root / "dogs" / "broken.jpg").write_bytes(b"this is not a jpeg")
    messages = []
    dataset = load_dataset(f"folder:{root}", progress=lambda d, t, m: messages.append(m))
    assert len(dataset.notes) == 1 and "dogs/broken.jpg" in dataset.notes[0]
    assert any("dogs/broken.jpg" in m for m in messages)
    assert len(dataset.x_train) + len(dataset.x_val) + len(dataset.x_test) == 20


def test_one_class_is_refused(tmp_path):
    root = _make_folder(tmp_path / "pets", classes=("cats",))
    (root / "empty").mkdir()
    with pytest.raises(DatasetError, match="at least two sub-folders.*found 1 \\(cats\\)"):
        load_dataset(f"folder:{root}")


def test_only_one_class_readable_is_refused(tmp_path):
    root = _make_folder(tmp_path / "pets", classes=("cats",))
    _save(root / "dogs" / "x.png", np.zeros((4, 4), np.uint8))
    (root / "dogs" / "x.png").write_bytes(b"garbage")
    with pytest.raises(DatasetError, match=r"(?s)fewer than two classes.*dogs/x.png: cannot read"):
        load_dataset(f"folder:{root}")


def test_not_a_folder(tmp_path):
    with pytest.raises(DatasetError, match="is not a folder"):
        load_dataset(f"folder:{tmp_path / 'nowhere'}")
