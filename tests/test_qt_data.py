"""Picking data: every registered dataset is offered, loading runs off the GUI thread and
shows its progress, a failed load is explained, and the network follows the data."""

from __future__ import annotations

import threading

from PyQt6.QtCore import QSettings
from PyQt6.QtWidgets import QMessageBox
from test_qt_support import tiny_dataset

from cnnviz.data.dataset import DatasetError
from cnnviz.data.registry import list_datasets
from cnnviz.qt import dialogs
from cnnviz.qt.main_window import MainWindow


def test_downloading_shows_progress_off_the_gui_thread(qtbot, tmp_path, monkeypatch):
    monkeypatch.setattr(dialogs, "ask_save_changes", lambda *args: dialogs.DISCARD)
    reported, release, threads = threading.Event(), threading.Event(), []

    def load(name, progress=None, **kwargs):
        threads.append(threading.current_thread())
        if name == "mnist":
            progress(3_000_000, 12_000_000, "downloading train-images from example.org")
            reported.set()
            release.wait(10)
            raise DatasetError("could not download mnist: connection refused")
        return tiny_dataset()

    window = MainWindow(QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat), load)
    qtbot.addWidget(window)
    window.show()
    picker = window.training.data
    offered = [picker.combo.itemData(i) for i in range(picker.combo.count())]
    assert offered[:-1] == [info.name for info in list_datasets()]  # then "Folder of images…"
    qtbot.waitUntil(lambda: window.session.dataset is not None)

    picker.combo.setCurrentIndex(offered.index("mnist"))
    picker.combo.activated.emit(offered.index("mnist"))
    assert reported.wait(10)
    qtbot.waitUntil(lambda: picker.progress.value() == 250)
    assert picker.progress.isVisible() and "downloading train-images" in picker.progress.text()
    assert not window.actions.start_pause.isEnabled()  # no data to train on yet
    assert "mnist is still loading" in window.actions.start_pause.toolTip()
    release.set()
    qtbot.waitUntil(lambda: window.findChild(QMessageBox) is not None)
    assert "connection refused" in window.findChild(QMessageBox).text()
    assert "Could not load mnist" in picker.about.text() and not picker.progress.isVisible()
    assert all(t is not threading.main_thread() for t in threads)
    window.findChild(QMessageBox).close()
    qtbot.waitUntil(lambda: window.worker.device is not None, timeout=30_000)  # JAX, too
