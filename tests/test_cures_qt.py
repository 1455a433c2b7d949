"""The window's side of the cures: early stopping marked on the curves with the rate each
step trained with, freezing a layer without losing the run, a frozen layer in the views,
the training panel's settings."""

import numpy as np
import pytest
from PyQt6.QtCore import Qt
from test_qt_support import SMALL_NET, make_window, wait_idle

from cnnviz.core.history import EARLY_STOPPED
from cnnviz.core.layers import BatchNorm
from cnnviz.qt.widgets.layer_table import LOCK


@pytest.fixture
def window(qtbot, tmp_path, monkeypatch):
    w = make_window(qtbot, tmp_path, monkeypatch)
    w.network.reset(SMALL_NET)
    yield w
    wait_idle(qtbot, w)


def _labels(window) -> list[str]:
    return [mark.label.format for _, mark in window.curves._marks]


def test_a_run_that_stops_early_is_marked_with_its_rates(window, qtbot):
    s = window.session
    # random labels: the validation loss soon rises, and patience 1 stops it
    s.set_config(epochs=40, learning_rate=0.05, early_stopping=True, patience=1,
                 schedule="cosine")
    window.actions.start_pause.trigger()
    wait_idle(qtbot, window)
    halt = s.history.halts[-1]
    assert halt.reason == EARLY_STOPPED and len(s.history.epochs) < 40
    best = halt.best_step // s.steps_per_epoch()
    labels = _labels(window)
    assert labels.count("stopped early") == 2  # on the loss and the accuracy plot
    assert labels.count(f"best epoch {best}: weights kept") == 2
    curve = window.curves.rate
    assert curve.moves
    # the plots redraw at the refresh timer's next tick, not at once
    qtbot.waitUntil(lambda: window.curves._rate_shown)
    rates = np.asarray(curve.series.y)
    assert rates[0] == pytest.approx(0.05, rel=1e-3) and (np.diff(rates) <= 0).all()
    window.session.history_reset.emit()  # redrawn from the record: the same marks
    assert sorted(_labels(window)) == sorted(labels)


def test_freezing_a_layer_keeps_the_weights_and_the_curves(window, qtbot):
    s = window.session
    s.set_config(epochs=1)
    window.actions.start_pause.trigger()
    wait_idle(qtbot, window)
    weights, steps = s.weights, s.history.steps
    assert steps
    model = window.builder.table.model()
    model.toggle_lock(0)
    assert s.network.spec.layers[0].trainable is False
    assert s.history.steps == steps and s.weights is weights  # the same run goes on
    assert model.index(0, LOCK).data(Qt.ItemDataRole.ToolTipRole).startswith("Frozen")
    assert model.index(1, LOCK).data(Qt.ItemDataRole.DecorationRole) is None  # no weights
    model.toggle_lock(3)  # the Dense too: nothing would train
    assert s.blocker() == ("fix the network first: every layer is frozen: training would "
                           "change nothing; make at least one layer trainable")
    assert not window.actions.start_pause.isEnabled()


def test_a_batchnorm_added_from_the_palette_shows_keras_counts(window):
    builder = window.builder
    builder.table.select_row(0)
    builder.layer_palette.buttons["batchnorm"].click()
    assert isinstance(window.network.spec.layers[1], BatchNorm)
    totals = builder._totals.text()
    # conv 3·3·4 + 4 = 40, BatchNorm 4·4 = 16 (gamma and beta trained), Dense 196·3 + 3
    assert "<b>647</b> parameters (639 trainable, 8 not)" in totals
