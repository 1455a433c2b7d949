"""The Lessons panel: the list of lessons, and the open lesson one step at a time.

It shows what the LessonModel says (the lesson, its step with the learner's numbers, done
or to do) and sends it the learner's clicks; it keeps nothing of its own.
"""

from __future__ import annotations

from PyQt6.QtCore import Qt
from PyQt6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from cnnviz.core.i18n import tr
from cnnviz.core.lesson_vocabulary import FEATURES
from cnnviz.core.lessons import Lesson, in_language
from cnnviz.qt.lesson_model import LessonModel

DONE_COLOR, TODO_COLOR, COMING_COLOR = "#2e7d32", "#b26a00", "#757575"
LESSON_ROLE = Qt.ItemDataRole.UserRole


def _label(wrap: bool = True) -> QLabel:
    label = QLabel()
    label.setWordWrap(wrap)
    label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    return label


def _features(names: list[str]) -> str:
    return ", ".join(str(FEATURES[n]) for n in names)


class LessonsPanel(QWidget):
    def __init__(self, model: LessonModel, parent: QWidget | None = None):
        super().__init__(parent)
        self.model = model
        self.pages = QStackedWidget()
        # the list
        self.lessons = QListWidget()
        self.lessons.setWordWrap(True)
        self.open_button = QPushButton(tr("Open the lesson"))
        self.problems = _label()
        self.problems.setStyleSheet(f"color: {TODO_COLOR}")
        # one lesson
        self.title = _label()
        self.progress = QLabel()
        self.text = _label()
        self.text.setTextFormat(Qt.TextFormat.MarkdownText)
        self.text.setAlignment(Qt.AlignmentFlag.AlignTop)
        self.status = _label()
        self.note = _label()
        self.back_button = QPushButton(tr("◀ Back"))
        self.next_button = QPushButton()
        self.show_me_button = QPushButton(tr("Show me"))
        self.show_me_button.setToolTip(tr("Do this step for me, so I can see how"))
        self.restart_button = QPushButton(tr("Restart"))
        self.restart_button.setToolTip(tr("Start this lesson again from its first step"))
        self.list_button = QPushButton(tr("All lessons"))
        self._layout()
        self._connect()
        self._fill_list()
        self._show()

    def _layout(self) -> None:
        listing = QWidget()
        column = QVBoxLayout(listing)
        intro = _label()
        intro.setText(tr("Lessons follow the textbook, one idea at a time. Each step says "
                         "what to do; it turns green when you have done it."))
        column.addWidget(intro)
        column.addWidget(self.lessons, 1)
        column.addWidget(self.open_button)
        column.addWidget(self.problems)
        lesson = QWidget()
        column = QVBoxLayout(lesson)
        title_font = self.title.font()
        title_font.setBold(True)
        title_font.setPointSizeF(title_font.pointSizeF() * 1.15)
        self.title.setFont(title_font)
        column.addWidget(self.title)
        column.addWidget(self.progress)
        column.addWidget(self.text, 1)
        column.addWidget(self.status)
        column.addWidget(self.note)
        row = QHBoxLayout()
        for button in (self.back_button, self.show_me_button, self.next_button):
            row.addWidget(button)
        column.addLayout(row)
        row = QHBoxLayout()
        for button in (self.restart_button, self.list_button):
            row.addWidget(button)
        column.addLayout(row)
        self.pages.addWidget(listing)
        self.pages.addWidget(lesson)
        QVBoxLayout(self).addWidget(self.pages)

    def _connect(self) -> None:
        m = self.model
        m.changed.connect(self._show)
        self.lessons.itemActivated.connect(self._open_item)
        self.open_button.clicked.connect(lambda: self._open_item(self.lessons.currentItem()))
        self.lessons.currentItemChanged.connect(lambda *_: self._update_open_button())
        self.back_button.clicked.connect(m.back)
        self.next_button.clicked.connect(m.next)
        self.show_me_button.clicked.connect(m.show_me)
        self.restart_button.clicked.connect(m.restart)
        self.list_button.clicked.connect(m.close)

    # -- the list ---------------------------------------------------------------------------
    def _fill_list(self) -> None:
        m = self.model
        self.lessons.clear()
        for number, lesson in enumerate(m.catalogue.lessons, 1):
            title = tr("{number}. {title}", number=number, title=in_language(lesson.title))
            item = QListWidgetItem()
            item.setData(LESSON_ROLE, lesson.id)
            summary = in_language(lesson.summary)
            if not m.available(lesson):
                item.setText(tr("{title} (coming)", title=title))
                item.setFlags(item.flags() & ~Qt.ItemFlag.ItemIsEnabled)
                summary = tr("Coming in a later version: it needs {features}, which cnnviz "
                             "does not have yet.", features=_features(lesson.coming(
                                 m.host.parts.features))) + "\n" + summary
            else:
                item.setText(("✓ " if m.finished(lesson) else "") + title)
            item.setToolTip(summary)
            self.lessons.addItem(item)
        problems = m.catalogue.problems
        self.problems.setText(tr("Some lesson files could not be read:") + "\n" +
                              "\n".join(problems) if problems else "")
        self.problems.setVisible(bool(problems))
        self._update_open_button()

    def _lesson(self, item: QListWidgetItem | None) -> Lesson | None:
        if item is None or not item.flags() & Qt.ItemFlag.ItemIsEnabled:
            return None
        return next(x for x in self.model.catalogue.lessons if x.id == item.data(LESSON_ROLE))

    def _update_open_button(self) -> None:
        self.open_button.setEnabled(self._lesson(self.lessons.currentItem()) is not None)

    def _open_item(self, item: QListWidgetItem | None) -> None:
        lesson = self._lesson(item)
        if lesson is not None:
            self.model.open(lesson)

    # -- the open lesson -----------------------------------------------------------------
    def _show(self) -> None:
        m = self.model
        if m.lesson is None:
            if self.pages.currentIndex() != 0:  # back from a lesson: it may be finished now
                self._fill_list()
                self.pages.setCurrentIndex(0)
            return
        self.pages.setCurrentIndex(1)
        lesson, step, index = m.lesson, m.step, m.index
        last = index + 1 == len(lesson.steps)
        self.title.setText(in_language(lesson.title))
        self.progress.setText(tr("Step {number} of {count}", number=index + 1,
                                 count=len(lesson.steps)))
        self.text.setText(m.text())
        coming = m.step_coming(step)
        if coming:
            status, color = tr("Coming in a later version: this step needs {features}.",
                               features=_features(coming)), COMING_COLOR
        elif not step.check:
            status, color = "", DONE_COLOR
        elif m.passed(index):
            status, color = tr("✓ Done"), DONE_COLOR
        else:
            status, color = tr("To do: the step turns green when it is done. Stuck? "
                               "\"Show me\" does it for you."), TODO_COLOR
        self.status.setText(status)
        self.status.setStyleSheet(f"color: {color}; font-weight: bold")
        self.status.setVisible(bool(status))
        message = "\n".join(x for x in (m.error, m.note) if x)
        self.note.setText(message)
        self.note.setVisible(bool(message))
        self.note.setStyleSheet(f"color: {TODO_COLOR}" if m.error else "")
        self.back_button.setEnabled(index > 0)
        self.show_me_button.setEnabled(bool(step.solution) and not coming)
        self.next_button.setText(tr("Finish ✓") if last else tr("Next ▶"))


if __name__ == "__main__":  # a preview: the lessons on a window of their own
    from cnnviz.qt.lessons import preview

    preview()
