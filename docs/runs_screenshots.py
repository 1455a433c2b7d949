"""Regenerate the runs and fine-tuning screenshots in docs/ from real runs.

Plays Train > Examples > Fine-tuning in the window as `cnnviz` opens it, at 1280x720
(a projector's size), and saves the runs compared (curves overlaid, the figures side by
side, the Runs panel) and the Fine-tune dialog; then the overfitting example's runs.
Run it under Xvfb so the window system paints:

    xvfb-run -a -s "-screen 0 1280x720x24" uv run python docs/runs_screenshots.py

Writes docs/runs-compared.png, docs/runs-overfitting.png and docs/fine-tune-dialog.png,
and prints each run's final figures.
"""

from __future__ import annotations

import sys
from pathlib import Path

from PyQt6.QtWidgets import QApplication
from screenshots import open_window, settle, wait

from cnnviz.core.examples import EXAMPLES
from cnnviz.core.runs import runs_table
from cnnviz.qt import dialogs
from cnnviz.qt.fine_tune_dialog import FineTuneDialog

DOCS = Path(__file__).resolve().parent


def play(app: QApplication, window, key: str, shot: str) -> None:
    """Play the example `key` to its end; save the window, the runs compared, as `shot`."""
    done: list[bool] = []
    window.examples.finished.connect(done.append)
    window.examples.play(EXAMPLES[key])
    wait(app, lambda: bool(done), limit=1800)
    window.examples.finished.disconnect()
    if not done[0]:
        raise RuntimeError(f"the {key} example did not run to its end")
    print(runs_table(window.session.runs.runs), flush=True)
    window.show_tab(window.curves)
    window.runs_dock.raise_()
    settle(app, 1.5)
    window.grab().save(str(DOCS / shot))


def main() -> int:
    app, window, live = open_window(1280, 720)
    live.size_docks()
    play(app, window, "fine-tuning", "runs-compared.png")

    window.session.restore_run(window.session.runs.runs[0])  # the network trained on shapes
    dialog = FineTuneDialog(window.session, window.settings, window)
    dialog.data.setCurrentIndex(_index(dialog, "outlines"))
    dialog.per_class.setValue(10)
    dialog.show()
    settle(app, 1.0)
    dialog.grab().save(str(DOCS / "fine-tune-dialog.png"))
    dialog.reject()

    play(app, window, "overfitting", "runs-overfitting.png")
    dialogs.ask_save_changes = lambda *args: dialogs.DISCARD  # the runs are not worth a prompt
    window.close()
    window.finish_threads(30)
    return 0


def _index(dialog: FineTuneDialog, name: str) -> int:
    return next(i for i in range(dialog.data.count()) if dialog.data.itemData(i)[0] == name)


if __name__ == "__main__":
    sys.exit(main())
