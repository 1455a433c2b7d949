"""The parts of the window a lesson names: its views, the controls a step frames, and
the frame itself (core.lesson_vocabulary's VIEWS and TARGETS); which optional features
the window has (the Compress workspace, the Step through view)."""

from __future__ import annotations

from PyQt6.QtCore import QObject, pyqtSignal
from PyQt6.QtWidgets import (
    QDockWidget,
    QScrollArea,
    QStackedWidget,
    QTabWidget,
    QToolBar,
    QToolButton,
    QWidget,
)

from cnnviz.core.i18n import Message
from cnnviz.qt.live_views import LiveViews
from cnnviz.qt.main_window import MainWindow
from cnnviz.qt.widgets.compress import CompressWorkspace
from cnnviz.qt.widgets.confusion import ConfusionView
from cnnviz.qt.widgets.draw_canvas import DrawView
from cnnviz.qt.widgets.feature_maps import FeatureMapsView
from cnnviz.qt.widgets.filters import FiltersView
from cnnviz.qt.widgets.highlight import Highlight
from cnnviz.qt.widgets.predictions import PredictionsView
from cnnviz.qt.widgets.replay import ReplayView
from cnnviz.qt.widgets.step_through.view import StepThroughView
from cnnviz.qt.widgets.weight_stats import WeightStatsView

LIVE_VIEWS = {"feature-maps": FeatureMapsView, "filters": FiltersView, "replay": ReplayView,
              "weights": WeightStatsView, "predictions": PredictionsView,
              "confusion": ConfusionView, "draw": DrawView}


class LessonActionError(RuntimeError):
    """An action that cannot be done on the window as it is now (a Message says why)."""


def bring_to_front(widget: QWidget) -> None:
    """Make `widget` visible: the tabs and docks around it brought forward, the panels
    around it scrolled to it."""
    child, parent = widget, widget.parentWidget()
    while parent is not None:
        if isinstance(parent.parentWidget(), QScrollArea):  # parent: the area's viewport
            parent.parentWidget().ensureWidgetVisible(widget)
        if isinstance(parent, QStackedWidget) and isinstance(parent.parentWidget(), QTabWidget):
            parent.parentWidget().setCurrentWidget(child)
        if isinstance(parent, QDockWidget):
            parent.show()
            parent.raise_()
        child, parent = parent, parent.parentWidget()


class WindowParts(QObject):
    changed = pyqtSignal()  # an optional part's state (a compression, a stage shown)

    def __init__(self, window: MainWindow, live: LiveViews, parent: QObject | None = None):
        super().__init__(parent or window)
        self.window, self.live = window, live
        self.highlight = Highlight(window)
        self._compress: CompressWorkspace | None = None
        self._step_view: StepThroughView | None = None
        self.compress()
        self.step_through()

    # -- optional parts ----------------------------------------------------------------
    @property
    def features(self) -> frozenset[str]:
        """The features of core.lesson_vocabulary.FEATURES this window has."""
        have = {"compression": self.compress(), "step-through": self.step_through(),
                "freezing": self.window.runs_panel}  # the builder's locks, Fine-tune...
        return frozenset(name for name, part in have.items() if part is not None)

    def compress(self) -> CompressWorkspace | None:
        """The Compress workspace, if the window has one (its changes reach `changed`)."""
        if self._compress is None:
            self._compress = self.window.findChild(CompressWorkspace)
            if self._compress is not None:
                model = self._compress.model
                for signal in (model.compressed, model.busy_changed, model.source_changed):
                    signal.connect(self.changed)
        return self._compress

    def step_through(self) -> StepThroughView | None:
        """The Step through view, if the window has one (its changes reach `changed`)."""
        if self._step_view is None:
            self._step_view = self.window.findChild(StepThroughView)
            if self._step_view is not None:
                model = self._step_view.model
                for signal in (model.inspected, model.stage_changed, model.selection_changed):
                    signal.connect(self.changed)
        return self._step_view

    def workspace(self) -> CompressWorkspace:
        """The Compress workspace, ready for a job; LessonActionError if it is not."""
        compress = self.compress()
        if compress is None:
            raise LessonActionError(Message("the {view} view is not built yet",
                                            view="compression"))
        if compress.model.busy:
            raise LessonActionError(Message("wait until {what} has finished",
                                            what=compress.model.busy))
        return compress

    # -- views and targets ---------------------------------------------------------------
    def view_widget(self, view: str) -> QWidget:
        w = self.window
        fixed = {"network": w.builder, "training": w.training, "curves": w.curves,
                 "runs": w.runs_panel,
                 "compression": self.compress(), "step-through": self.step_through()}
        if fixed.get(view) is not None:
            return fixed[view]
        kind = LIVE_VIEWS.get(view)
        found = [v for v in self.live.views.values() if kind and isinstance(v, kind)]
        if not found:
            raise LessonActionError(Message("the {view} view is not built yet", view=view))
        return found[0]

    def show(self, view: str) -> None:
        bring_to_front(self.view_widget(view))

    def target_widgets(self, target: str) -> list[QWidget]:
        """The widgets a highlight frames."""
        w, training, builder = self.window, self.window.training, self.window.builder
        actions = {"start": w.actions.start_pause, "step": w.actions.step,
                   "stop": w.actions.stop, "reset-weights": w.actions.reset_weights}
        if target in actions:
            return [self._button(actions[target])]
        parts = {"layer-palette": builder.layer_palette, "layer-list": builder.table,
                 "layer-editor": builder.editor, "dataset": training.data,
                 "per-class": training.data.per_class,
                 "optimizer": training.optimizer, "learning-rate": training.learning_rate,
                 "batch-size": training.batch_size, "epochs": training.epochs,
                 "progress": training.progress}
        if target == "augment":
            return list(training.augment.values())
        if target in ("sparsity", "prune", "quantize"):
            compress = self.compress() or self.workspace()
            return [{"sparsity": compress.prune.slider, "prune": compress.prune.tune,
                     "quantize": compress.quantize.run}[target]]
        return [parts[target]] if target in parts else [self.view_widget(target)]

    def _button(self, action) -> QWidget:
        """The training panel's button for `action`, else the toolbar's."""
        for button in self.window.training.findChildren(QToolButton):
            if button.defaultAction() is action:
                return button
        return self.window.findChild(QToolBar, "toolbar-main").widgetForAction(action)

    def frame(self, target: str) -> None:
        """Frame `target`, brought into view."""
        widgets = self.target_widgets(target)
        bring_to_front(widgets[0])
        self.highlight.frame(widgets)

    def unframe(self) -> None:
        self.highlight.frame([])
