"""File > Import… in the window: a network from a file opens as a new unsaved project
with its layers in the builder; what does not fit, or cannot be read, is a dialog and
nothing in the open project changes."""

from __future__ import annotations

import os

import numpy as np
import pytest
from test_export_support import weights_for
from test_qt_support import SMALL_NET, make_window

os.environ.setdefault("KERAS_BACKEND", "jax")
import keras  # noqa: E402
from keras import layers  # noqa: E402

from cnnviz.core.layers import Conv2D, Dense, Flatten, MaxPool2D  # noqa: E402
from cnnviz.io.export import Trained, export_model  # noqa: E402
from cnnviz.qt import dialogs, import_command  # noqa: E402

pytestmark = pytest.mark.filterwarnings(  # Keras' own NumPy 2 deprecation when it saves
    "ignore:__array__ implementation doesn't accept a copy keyword:DeprecationWarning")


@pytest.fixture
def window(qtbot, tmp_path, monkeypatch):
    window = make_window(qtbot, tmp_path, monkeypatch)
    window.shown = {"notes": [], "problems": [], "errors": []}
    monkeypatch.setattr(import_command, "show_notes",
                        lambda parent, imported, dataset, notes: window.shown["notes"].append(
                            notes))
    monkeypatch.setattr(import_command, "show_problems",
                        lambda parent, error: window.shown["problems"].append(str(error)))
    monkeypatch.setattr(dialogs, "show_error",
                        lambda parent, title, message: window.shown["errors"].append(message))
    return window


@pytest.fixture(scope="module")
def keras_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("keras") / "classifier.keras"
    keras.Sequential([keras.Input((16, 16, 1)), layers.Conv2D(6, 3, activation="relu"),
                      layers.MaxPooling2D(), layers.Flatten(),
                      layers.Dense(3, activation="softmax")]).save(path)
    return path


def import_path(window, qtbot, monkeypatch, path) -> None:
    monkeypatch.setattr(import_command, "ask_path", lambda parent, directory: str(path))
    window.importer.action.trigger()
    qtbot.waitUntil(lambda: window.importer._thread is None, timeout=60_000)


def test_a_keras_model_opens_as_a_new_unsaved_project(window, qtbot, monkeypatch,
                                                      keras_file):
    import_path(window, qtbot, monkeypatch, keras_file)
    spec = window.network.spec
    assert spec.layers == (Conv2D(6, 3), MaxPool2D(2), Flatten(), Dense(3, "none"))
    assert window.builder.table.model().rowCount() == 4
    assert window.session.weights is not None and window.session.history.steps == 0
    assert window.file.path is None and window.isWindowModified()
    assert window.windowTitle().startswith("untitled")
    assert not window.network.undo_stack.canUndo()
    notes = window.shown["notes"][0]
    assert any("final softmax was dropped" in note for note in notes)
    assert notes[-1].startswith("no dataset has 16x16x1 images in 3 classes")
    assert window.statusBar().currentMessage() == "Imported classifier.keras"


def test_an_export_of_the_app_opens_with_its_weights(window, qtbot, monkeypatch, tmp_path):
    weights = weights_for(SMALL_NET, seed=2)
    folder = export_model(Trained(SMALL_NET, weights, ("a", "b", "c")), ["safetensors"],
                          tmp_path / "export")
    import_path(window, qtbot, monkeypatch, folder / "manifest.json")
    assert window.network.spec == SMALL_NET
    for got, expected in zip(window.session.weights, weights, strict=True):
        assert all(np.array_equal(got[k], expected[k]) for k in expected)


def test_what_does_not_fit_changes_nothing(window, qtbot, monkeypatch, tmp_path):
    window.network.reset(SMALL_NET)
    before = (window.network.spec, window.session.weights, window.windowTitle())
    other = SMALL_NET.adapted((16, 16, 1), 7)  # weights for 7 classes, not 3
    folder = export_model(Trained(other, weights_for(other), tuple("abcdefg")), ["npz"],
                          tmp_path / "export")
    (folder / "manifest.json").unlink()  # weights alone: they go onto the builder's network
    import_path(window, qtbot, monkeypatch, folder / "weights.npz")
    assert window.shown["problems"][0].startswith("weights.npz does not fit: 2 problem(s)")
    assert (window.network.spec, window.session.weights, window.windowTitle()) == before

    broken = tmp_path / "broken.onnx"
    broken.write_bytes(b"\x08\x07 not really onnx")
    import_path(window, qtbot, monkeypatch, broken)
    assert window.shown["errors"] == ["broken.onnx: not a readable ONNX model (truncated or "
                                      "corrupt?)"]
    assert (window.network.spec, window.session.weights, window.windowTitle()) == before


def test_cancelling_the_offer_to_save_imports_nothing(window, qtbot, monkeypatch):
    window.network.replace(3, Dense(3, "relu"), "activation")
    monkeypatch.setattr(dialogs, "ask_save_changes", lambda *args: dialogs.CANCEL)
    asked = []
    monkeypatch.setattr(import_command, "ask_path", lambda *args: asked.append(1))
    window.importer.action.trigger()
    assert asked == [] and window.network.spec.layers[3] == Dense(3, "relu")
