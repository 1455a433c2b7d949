"""N images per class: a seeded, stratified slice of the training split only."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cnnviz.data.dataset import Dataset, DatasetError
from cnnviz.data.per_class import per_class_slice, slice_indices
from cnnviz.data.registry import load_dataset


def _rows(x: np.ndarray) -> set[bytes]:
    return {image.tobytes() for image in x}


def test_each_class_gets_n_training_images_and_nothing_else_changes():
    full = load_dataset("digits", seed=3)
    sliced = load_dataset("digits", seed=3, per_class=10)
    assert np.bincount(sliced.y_train).tolist() == [10] * 10
    assert len(sliced.x_train) == 100
    for split in ("val", "test"):
        assert np.array_equal(getattr(sliced, f"x_{split}"), getattr(full, f"x_{split}"))
        assert np.array_equal(getattr(sliced, f"y_{split}"), getattr(full, f"y_{split}"))
    # every kept image is a training image of the full set, with its own label
    pairs = {(image.tobytes(), int(label)) for image, label in zip(full.x_train, full.y_train,
                                                                   strict=True)}
    assert all((image.tobytes(), int(label)) in pairs
               for image, label in zip(sliced.x_train, sliced.y_train, strict=True))
    assert "10 training images per class" in sliced.description


def test_the_same_seed_gives_the_same_slice_and_another_seed_another():
    a = load_dataset("digits", seed=1, per_class=5)
    b = load_dataset("digits", seed=1, per_class=5)
    c = load_dataset("digits", seed=2, per_class=5)
    assert np.array_equal(a.x_train, b.x_train)
    assert _rows(a.x_train) != _rows(c.x_train)


def test_a_larger_slice_keeps_the_smaller_ones_images():
    full = load_dataset("digits", seed=0)
    small = per_class_slice(full, 5, seed=0)
    large = per_class_slice(full, 50, seed=0)
    assert _rows(small.x_train) <= _rows(large.x_train)


def test_a_class_with_fewer_images_gives_all_it_has_and_says_so():
    x = np.arange(7 * 4, dtype=np.uint8).reshape(7, 2, 2, 1)
    y = np.array([0, 0, 0, 0, 0, 1, 1], np.int32)
    dataset = Dataset("toy", ("a", "b"), x, y, x[:0], y[:0], x[:1], y[:1])
    sliced = per_class_slice(dataset, 3, seed=0)
    assert np.bincount(sliced.y_train).tolist() == [3, 2]
    assert any("fewer than 3" in note and "b" in note for note in sliced.notes)


def test_the_note_names_a_built_in_class_in_the_interfaces_language():
    from cnnviz.core import i18n

    x = np.zeros((7, 2, 2, 1), np.uint8)
    y = np.array([0, 0, 0, 0, 0, 1, 1], np.int32)
    dataset = Dataset("toy", ("circle", "square"), x, y, x[:0], y[:0], x[:1], y[:1])
    try:
        i18n.install("zh_CN")
        (note,) = per_class_slice(dataset, 3, seed=0).notes
    finally:
        i18n.install("en")
    assert "正方形" in note and "square" not in note and "圆形" not in note
    (note,) = per_class_slice(dataset, 3, seed=0).notes
    assert "square" in note


@pytest.mark.parametrize("bad", [0, -1, 2.5, True, "10"])
def test_a_number_that_is_not_a_count_is_refused_before_loading(bad):
    with pytest.raises(DatasetError, match="images per class"):
        load_dataset("no-such-dataset", per_class=bad)


@settings(max_examples=60, deadline=None)
@given(labels=st.lists(st.integers(0, 4), min_size=0, max_size=60),
       per_class=st.integers(1, 20), seed=st.integers(0, 2**31 - 1))
def test_slice_indices_against_a_count_by_hand(labels, per_class, seed):
    labels = np.array(labels, np.int64)
    keep = slice_indices(labels, per_class, seed)
    assert np.all(np.diff(keep) > 0)  # sorted, no repeats
    for label in range(5):
        have = int(np.sum(labels == label))
        assert int(np.sum(labels[keep] == label)) == min(have, per_class)
