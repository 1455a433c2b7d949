"""Opening a project in the window is all or nothing: a file that fails anywhere, in a
member another part of the window owns too (the replay), leaves the open project, its
name and what Save writes exactly as they were, and says why in a dialog."""

from __future__ import annotations

import io
import zipfile

import numpy as np
import pytest
from PyQt6.QtWidgets import QMessageBox
from test_qt_support import SMALL_NET, make_window

from cnnviz.core.layers import Dense
from cnnviz.core.network import NetworkSpec
from cnnviz.io.project import Project, load_project, save_project
from cnnviz.io.replay import load_replay
from cnnviz.qt import dialogs


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
