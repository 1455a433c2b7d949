"""Fine-tuning in the window: the Fine-tune dialog's plan as the learner changes it (the
head, the frozen layers, the suggested rate, what does not fit), the fine-tuned run kept
beside the one it came from, and a one-click example played to its end."""

from __future__ import annotations

import numpy as np
import pytest
from PyQt6.QtCore import QSettings
from test_qt_support import SMALL_NET, tiny_dataset
from test_runs_qt import train

from cnnviz.core.examples import Example, ExampleRun
from cnnviz.core.i18n import Message
from cnnviz.core.layers import Dense, Flatten, is_frozen
from cnnviz.core.snapshot import RUNNING
from cnnviz.data.dataset import Dataset
from cnnviz.data.registry import DatasetEntry, DatasetInfo
from cnnviz.qt import dialogs, examples, fine_tune_dialog
from cnnviz.qt.fine_tune_dialog import FineTuneDialog
from cnnviz.qt.main_window import MainWindow

FOUR = ("w", "x", "y", "z")
INFOS = [DatasetInfo("tiny", "three classes", (16, 16, 1), 3, 160, True, ("a", "b", "c")),
         DatasetInfo("tiny4", "four classes", (16, 16, 1), 4, 160, True, FOUR),
         DatasetInfo("big", "larger images", (28, 28, 1), 3, 160, True, ("a", "b", "c"))]


def four_classes() -> Dataset:
    base = tiny_dataset()
    rng = np.random.default_rng(1)
    return Dataset("tiny4", FOUR, base.x_train, rng.integers(0, 4, len(base.y_train)).astype(
        np.int32), base.x_val, rng.integers(0, 4, len(base.y_val)).astype(np.int32),
        base.x_test, rng.integers(0, 4, len(base.y_test)).astype(np.int32))


@pytest.fixture
def window(qtbot, tmp_path, monkeypatch):
    data = {"tiny": tiny_dataset(), "tiny4": four_classes()}
    monkeypatch.setattr(dialogs, "confirm", lambda *args: True)
    monkeypatch.setattr(dialogs, "ask_save_changes", lambda *args: dialogs.DISCARD)
    monkeypatch.setattr(fine_tune_dialog, "list_datasets", lambda: INFOS)
    settings = QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)
    settings.setValue("data/name", "shapes")
    window = MainWindow(settings, load=lambda name, **kwargs: data.get(name, data["tiny"]))
    qtbot.addWidget(window)
    window.show()
    qtbot.waitUntil(lambda: window.session.dataset is not None
                    and window.worker.device is not None, timeout=30_000)
    window.session.select_dataset("tiny")
    qtbot.waitUntil(lambda: window.session.dataset is not None)
    window.network.reset(SMALL_NET)
    window.training.epochs.setValue(1)
    return window


def _choose(dialog: FineTuneDialog, name: str) -> None:
    dialog.data.setCurrentIndex(next(i for i in range(dialog.data.count())
                                     if dialog.data.itemData(i)[0] == name))


def test_the_dialog_plans_as_the_learner_chooses(window, qtbot):
    s = window.session
    train(qtbot, window)
    dialog = FineTuneDialog(s, window.settings, window)
    qtbot.addWidget(dialog)
    assert dialog.source.currentText() == "Run 1 (tiny)"
    _choose(dialog, "tiny4")  # other classes, and more of them: a new head, forced
    assert dialog.new_head.isChecked() and not dialog.new_head.isEnabled()
    assert dialog.frozen.value() == 1 and dialog.frozen.maximum() == 2
    assert dialog.layers.text() == "Frozen: conv1. Trained: dense1."
    rate = s.config.learning_rate
    assert dialog.learning_rate.value() == pytest.approx(rate) and dialog.go.isEnabled()
    dialog.frozen.setValue(0)  # the trained conv1 trains again: a tenth of the rate
    assert dialog.learning_rate.value() == pytest.approx(rate / 10)
    assert "a tenth" in dialog.rate_note.text()
    dialog.frozen.setValue(2)  # everything frozen: nothing would train
    assert not dialog.go.isEnabled() and "leaves nothing to train" in dialog.problem.text()
    dialog.frozen.setValue(1)
    _choose(dialog, "big")  # larger images: the trained dense layer does not fit
    assert not dialog.go.isEnabled() and "28x28x1" in dialog.problem.text()
    _choose(dialog, "tiny")  # the same classes: the head may stay
    assert not dialog.new_head.isChecked() and dialog.new_head.isEnabled()
    _choose(dialog, "tiny4")
    dialog.per_class.setValue(20)
    trained = [dict(layer) for layer in s.weights]
    assert dialog.fine_tune()

    # the network for the new data, conv1 frozen as it was trained; Start fine-tunes
    assert s.dataset_name == "tiny4" and s.per_class == 20
    qtbot.waitUntil(lambda: s.dataset is not None and s.dataset.num_classes == 4)
    assert s.network.spec.layers[-1].units == 4 and is_frozen(s.network.spec.layers[0])
    np.testing.assert_array_equal(s.weights[0]["kernel"], trained[0]["kernel"])
    train(qtbot, window)
    first, tuned = s.runs.runs
    assert tuned.kind == "fine-tuned" and tuned.source == "Run 1 (tiny)"
    assert tuned.per_class == 20 and first.dataset == "tiny"
    np.testing.assert_array_equal(tuned.weights[0]["kernel"], trained[0]["kernel"])


def test_a_project_file_is_a_source_and_a_broken_one_says_why(window, qtbot, tmp_path):
    s = window.session
    train(qtbot, window)
    path = tmp_path / "trained.cnnviz"
    window.file.save(path)
    window.session.reset_weights()
    dialog = FineTuneDialog(s, window.settings, window)
    qtbot.addWidget(dialog)
    assert not dialog.go.isEnabled() and "no trained weights" in dialog.problem.text()
    broken = tmp_path / "broken.cnnviz"
    broken.write_bytes(b"not a zip")
    dialog.use_file(str(broken))
    assert "not a cnnviz project file" in dialog.problem.text()
    dialog.use_file(str(path))
    assert dialog.source.currentText() == "trained.cnnviz (tiny)" and dialog.go.isEnabled()


def test_an_example_plays_its_runs_in_a_row_and_compares_them(window, qtbot, monkeypatch):
    entries = {info.name: DatasetEntry(info, None) for info in INFOS}
    monkeypatch.setattr(examples, "DATASETS", entries)
    head = (Flatten(), Dense(3, "none"))
    config = {"epochs": 1, "batch_size": 16, "seed": 0}
    example = Example("test", Message("test"), Message("test"), (
        ExampleRun(Message("pre"), "tiny", SMALL_NET.layers, config=config),
        ExampleRun(Message("tuned"), "tiny4", fine_tune=0, per_class=10, config=config),
        ExampleRun(Message("scratch"), "tiny4", head, per_class=10, config=config)),
        shown=(2, 1))
    done = []
    window.examples.finished.connect(done.append)
    window.examples.play(example)
    qtbot.waitUntil(lambda: bool(done), timeout=120_000)
    log = window.session.runs
    assert done == [True] and [r.name for r in log.runs] == ["pre", "tuned", "scratch"]
    assert [r.kind for r in log.runs] == ["trained", "fine-tuned", "trained"]
    assert log.shown == [3, 2] and window.runs_panel.compare.columnCount() == 2
    assert log.runs[1].source == "pre (tiny)"


def test_stopping_a_run_ends_the_example_and_keeps_what_was_trained(window, qtbot, monkeypatch):
    monkeypatch.setattr(examples, "DATASETS", {i.name: DatasetEntry(i, None) for i in INFOS})
    long = {"epochs": 1000, "batch_size": 16, "seed": 0}
    example = Example("test", Message("test"), Message("test"), (
        ExampleRun(Message("pre"), "tiny", SMALL_NET.layers, config=long),
        ExampleRun(Message("tuned"), "tiny4", fine_tune=0, config=long)), shown=(1, 0))
    done = []
    window.examples.finished.connect(done.append)
    window.examples.play(example)
    qtbot.waitUntil(lambda: window.session.state == RUNNING, timeout=60_000)
    window.actions.stop.trigger()
    qtbot.waitUntil(lambda: bool(done), timeout=60_000)
    assert done == [False] and not window.examples.playing
    assert len(window.session.runs.runs) == 1 and "stopped" in window.statusBar().currentMessage()
