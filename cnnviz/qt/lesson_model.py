"""Where the learner is in the lessons: the open lesson, its step, what is done.

Progress lives in QSettings, so it is there the next time the window opens (and after
the window is rebuilt in another language): the lesson open, each lesson's current step,
the steps whose check has passed (they stay green) and the lessons finished. A step's
setup is applied when the learner moves to it (or opens or restarts its lesson), never
when the window merely comes back to where it was, which would undo their work.
"""

from __future__ import annotations

from PyQt6.QtCore import QObject, QSettings, QTimer, pyqtSignal

from cnnviz.core.lessons import Catalogue, Lesson, Step, in_language, quote
from cnnviz.qt.lesson_host import LessonHost
from cnnviz.qt.lesson_parts import LessonActionError

OPEN_KEY = "lessons/open"
RECHECK_MS = 250  # app changes come in bursts (a training run: 10 a second); check after


def _key(lesson: Lesson, what: str) -> str:
    return f"lessons/{lesson.id}/{what}"


class LessonModel(QObject):
    changed = pyqtSignal()  # the lesson, the step, what is done, or the numbers quoted

    def __init__(self, catalogue: Catalogue, host: LessonHost, settings: QSettings,
                 parent: QObject | None = None):
        super().__init__(parent)
        self.catalogue, self.host, self.settings = catalogue, host, settings
        self.lesson: Lesson | None = None
        self.error = ""  # what the last setup or "Show me" could not do
        self.note = ""  # what it did otherwise than asked (e.g. other data: not downloaded)
        self._recheck = QTimer(self)
        self._recheck.setSingleShot(True)
        self._recheck.setInterval(RECHECK_MS)
        self._recheck.timeout.connect(self.recheck)
        host.changed.connect(self._recheck.start)
        opened = str(settings.value(OPEN_KEY, ""))
        self.lesson = next((x for x in catalogue.lessons if x.id == opened
                            and self.available(x)), None)

    # -- reading -----------------------------------------------------------------------------
    def available(self, lesson: Lesson) -> bool:
        return not lesson.coming(self.host.parts.features)

    def finished(self, lesson: Lesson) -> bool:
        return self.settings.value(_key(lesson, "finished"), False, type=bool)

    @property
    def index(self) -> int:
        """The current step of the open lesson."""
        if self.lesson is None:
            return 0
        step = self.settings.value(_key(self.lesson, "step"), 0, type=int)
        return min(max(step, 0), len(self.lesson.steps) - 1)

    @property
    def step(self) -> Step | None:
        return self.lesson.steps[self.index] if self.lesson else None

    def step_coming(self, step: Step) -> list[str]:
        return [f for f in step.requires if f not in self.host.parts.features]

    def passed(self, number: int) -> bool:
        """Whether step `number` of the open lesson is done (its check passed once)."""
        if self.lesson is None:
            return False
        return number in self._passed()

    def _passed(self) -> list[int]:
        value = self.settings.value(_key(self.lesson, "passed"), [])
        values = [value] if isinstance(value, str | int) else list(value or [])
        return [int(v) for v in values if str(v).isdigit()]

    def text(self) -> str:
        """The current step's text in the language in use, the learner's numbers in it."""
        step = self.step
        return quote(in_language(step.text), self.host.quotes()) if step else ""

    # -- moving --------------------------------------------------------------------------------
    def open(self, lesson: Lesson) -> None:
        """Open `lesson` where the learner left it, and set that step up."""
        self.lesson = lesson
        self.settings.setValue(OPEN_KEY, lesson.id)
        self._enter(self.index)

    def close(self) -> None:
        """Back to the list."""
        self.lesson = None
        self.settings.setValue(OPEN_KEY, "")
        self.host.parts.unframe()
        self.error = self.note = ""
        self.changed.emit()

    def go(self, number: int) -> None:
        if self.lesson is not None and 0 <= number < len(self.lesson.steps):
            self._enter(number)

    def next(self) -> None:
        """The next step; after the last, the lesson is finished and the list shows."""
        if self.lesson is None:
            return
        if self.index + 1 < len(self.lesson.steps):
            self._enter(self.index + 1)
        else:
            self.settings.setValue(_key(self.lesson, "finished"), True)
            self.close()

    def back(self) -> None:
        self.go(self.index - 1)

    def restart(self) -> None:
        """The open lesson from its first step, with nothing done."""
        if self.lesson is not None:
            for what in ("passed", "finished"):
                self.settings.remove(_key(self.lesson, what))
            self._enter(0)

    def show_me(self) -> None:
        """Do what the step asks, as its solution says."""
        step = self.step
        if step is not None and not self.step_coming(step):
            self._apply(step.solution)

    def _enter(self, number: int) -> None:
        self.settings.setValue(_key(self.lesson, "step"), number)
        self.host.parts.unframe()
        self.error = self.note = ""
        step = self.lesson.steps[number]
        if not self.step_coming(step):
            self._apply(step.setup)
        self.recheck()

    def _apply(self, actions: tuple) -> None:
        try:
            self.host.apply(actions)
            self.error = ""
        except LessonActionError as exc:
            self.error = str(exc)
        self.note = " ".join(self.host.notes)
        self.recheck()

    # -- checking ---------------------------------------------------------------------------
    def recheck(self) -> None:
        """Remember the current step as done if its check holds now; tell the panel."""
        step = self.step
        if step is not None and step.check and not self.step_coming(step) \
                and self.index not in self._passed() and self.host.holds(step.check):
            self.settings.setValue(_key(self.lesson, "passed"), [*self._passed(), self.index])
        self.changed.emit()
