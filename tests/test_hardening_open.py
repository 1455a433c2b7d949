"""Opening a project in the window is all or nothing: a file that fails anywhere, in a
member another part of the window owns too (the replay), leaves the open project, its
name and what Save writes exactly as they were, and says why in a dialog."""

from __future__ import annotations

import hashlib
import io
import json
import os
import time
import zipfile
from pathlib import Path

import numpy as np
import pytest
from PyQt6.QtWidgets import QApplication, QMessageBox
from test_qt_support import SMALL_NET, make_window

from cnnviz.core.config import MAX_BATCH_SIZE, MAX_EPOCHS, MAX_SEED, TrainConfig
from cnnviz.core.layers import Dense
from cnnviz.core.network import NetworkSpec
from cnnviz.io.project import Project, load_project, save_project
from cnnviz.io.replay import load_replay
from cnnviz.qt import dialogs
from cnnviz.qt.error_dialog import show_unexpected


def npy_claiming(shape: tuple[int, ...]) -> bytes:
    """A .npy header that claims `shape` of bytes, followed by a few bytes only."""
    buffer = io.BytesIO()
    np.lib.format.write_array_header_1_0(
        buffer, {"descr": "|u1", "fortran_order": False, "shape": shape})
    return buffer.getvalue() + bytes(16)


def replay_claiming_a_tebibyte() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("version.npy", npy_claiming((1 << 40,)))
    return buffer.getvalue()


@pytest.fixture
def window(qtbot, tmp_path, monkeypatch):
    """The window, its project's replay member owned as the live views own it."""
    window = make_window(qtbot, tmp_path, monkeypatch)
    window.file.register_extra("replay", lambda: None, lambda replay: None, load_replay)
    return window


def _open(window, monkeypatch, path) -> None:
    monkeypatch.setattr(dialogs, "open_path", lambda *args: str(path))
    window.actions.open.trigger()


def test_a_failed_open_then_save_keeps_the_open_project(window, tmp_path, monkeypatch):
    a, b = tmp_path / "a.cnnviz", tmp_path / "b.cnnviz"
    save_project(a, Project(SMALL_NET))
    b_spec = NetworkSpec((16, 16, 1), (*SMALL_NET.layers[:-1], Dense(9), Dense(3, "none")))
    save_project(b, Project(b_spec, extras={"replay": replay_claiming_a_tebibyte()}))
    _open(window, monkeypatch, a)
    assert window.file.path == a and window.network.spec == SMALL_NET
    title = window.windowTitle()

    _open(window, monkeypatch, b)
    box = window.findChild(QMessageBox)
    assert box is not None and "b.cnnviz" in box.text() and "replay" in box.text()
    box.close()
    assert window.network.spec == SMALL_NET and window.file.path == a
    assert window.windowTitle() == title and not window.isWindowModified()

    window.actions.save.trigger()  # saves A as it was, not B's network over it
    assert load_project(a).spec == SMALL_NET
    assert load_project(b).spec == b_spec


def test_an_unexpected_failure_ends_in_a_dialog(window, tmp_path, monkeypatch):
    """Any failure reading a file, even one the reader does not foresee, is shown in a
    dialog and changes nothing."""
    path = tmp_path / "any.cnnviz"
    save_project(path, Project(SMALL_NET))
    window.network.replace(3, Dense(3, "relu"), "activation")
    before = window.network.spec

    def boom(data):
        raise RecursionError("maximum recursion depth exceeded")

    window.file.register_extra("notes", lambda: b"x", lambda value: None, boom)
    save_project(path, Project(SMALL_NET, extras={"notes": b"deep"}))
    _open(window, monkeypatch, path)
    box = window.findChild(QMessageBox)
    assert box is not None and "RecursionError" in box.text()
    box.close()
    assert window.network.spec == before and window.file.path is None


def _deeply_nested_project(path) -> None:
    buffer = io.BytesIO()
    members = {"network.json": b"[" * 100_000 + b"]" * 100_000, "training.json": b"{}",
               "history.json": b"{}"}
    manifest = {"format": "cnnviz-project", "version": 1,
                "sha256": {n: hashlib.sha256(d).hexdigest() for n, d in members.items()}}
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("manifest.json", json.dumps(manifest))
        for name, data in members.items():
            zf.writestr(name, data)
    path.write_bytes(buffer.getvalue())


@pytest.mark.parametrize(("kind", "fragment"), [
    ("fifo", "is a pipe (FIFO), not a file"), ("device", "is a device, not a file"),
    ("loop", "symlink loop"), ("nested", "nested too deeply"),
    ("huge batch", "batch size must be at most 65,536"),
])
def test_a_bad_file_named_at_start_or_opened_ends_in_a_dialog(window, tmp_path, kind,
                                                              fragment):
    path = tmp_path / "bad.cnnviz"
    if kind == "fifo":
        os.mkfifo(path)
    elif kind == "device":
        path = Path("/dev/zero")
    elif kind == "loop":
        path.symlink_to(path)
    elif kind == "nested":
        _deeply_nested_project(path)
    else:
        config = TrainConfig()
        object.__setattr__(config, "batch_size", 10**12)  # as a hand-edited file has it
        save_project(path, Project(SMALL_NET, config))
    before = window.network.spec
    started = time.perf_counter()
    assert not window.open_file(str(path))  # what `cnnviz FILE` does once the window shows
    assert time.perf_counter() - started < 10
    box = window.findChild(QMessageBox)
    assert box is not None and fragment in box.text(), box.text() if box else None
    box.close()
    assert window.network.spec == before and window.file.path is None


def test_the_largest_settings_a_project_may_hold_show_as_they_are(window, qtbot, tmp_path,
                                                                 monkeypatch):
    config = TrainConfig(batch_size=MAX_BATCH_SIZE, epochs=MAX_EPOCHS, seed=MAX_SEED)
    path = tmp_path / "big.cnnviz"
    save_project(path, Project(SMALL_NET, config))
    _open(window, monkeypatch, path)
    panel = window.training
    assert (panel.batch_size.value(), panel.epochs.value(), panel.seed.value()) == (
        MAX_BATCH_SIZE, MAX_EPOCHS, MAX_SEED)
    assert window.session.config == config
    qtbot.waitUntil(lambda: window.session.dataset is not None)  # a new seed: loaded anew
    assert "larger than the 96 training images" in window.session.blocker()


def test_an_error_nothing_else_catches_ends_in_a_dialog(window):
    try:
        raise RuntimeError("a bug somewhere")
    except RuntimeError as exc:
        show_unexpected(RuntimeError, exc, exc.__traceback__)
    box = window.findChild(QMessageBox) or next(
        w for w in QApplication.topLevelWidgets() if isinstance(w, QMessageBox))
    assert "RuntimeError: a bug somewhere" in box.text()
    box.close()
