"""Keras-style progress lines for the command line."""

import pytest

from cnnviz.core.progress import BAR_WIDTH, epoch_line, format_duration, progress_bar


@pytest.mark.parametrize(("done", "total", "expected"), [
    (0, 10, "[>" + "." * 29 + "]"),
    (5, 10, "[" + "=" * 15 + ">" + "." * 14 + "]"),
    (1, 3, "[" + "=" * 10 + ">" + "." * 19 + "]"),
    (29, 30, "[" + "=" * 29 + ">]"),
    (10, 10, "[" + "=" * 30 + "]"),
    (12, 10, "[" + "=" * 30 + "]"),
    (0, 0, "[" + "=" * 30 + "]"),
])
def test_progress_bar(done, total, expected):
    assert BAR_WIDTH == 30
    assert progress_bar(done, total) == expected


def test_progress_bar_has_constant_width_and_grows():
    bars = [progress_bar(d, 140) for d in range(141)]
    assert {len(b) for b in bars} == {BAR_WIDTH + 2}
    filled = [b.count("=") for b in bars]
    assert filled == sorted(filled)
    assert all(b.count(">") == 1 for b in bars[:-1]) and bars[-1].count(">") == 0


@pytest.mark.parametrize(("seconds", "text"), [
    (0, "0s"), (0.4, "0s"), (1.6, "2s"), (59.4, "59s"), (59.6, "1:00"), (61, "1:01"),
    (600, "10:00"), (3599, "59:59"), (3600, "1:00:00"), (3725, "1:02:05"),
    (36_000, "10:00:00"),
])
def test_format_duration(seconds, text):
    assert format_duration(seconds) == text


def test_epoch_line_when_done():
    line = epoch_line(140, 140, 3.0, {"loss": 0.412, "accuracy": 0.85314,
                                      "val_loss": None, "val_accuracy": 0.9})
    assert line == ("140/140 [" + "=" * 30 + "] - 3s 21ms/step - loss: 0.4120 - "
                    "accuracy: 0.8531 - val_accuracy: 0.9000")


def test_epoch_line_with_eta_pads_the_count():
    line = epoch_line(7, 140, 1.0, {"loss": 1.23456}, eta=65)
    assert line == "  7/140 [=>" + "." * 28 + "] - ETA: 1:05 - loss: 1.2346"


def test_epoch_line_eta_ignored_once_done_and_zero_steps_safe():
    assert epoch_line(5, 5, 0.5, {}, eta=3.0) == "5/5 [" + "=" * 30 + "] - 0s 100ms/step"
    assert epoch_line(0, 5, 0.0, {}) == "0/5 [>" + "." * 29 + "] - 0s 0ms/step"
