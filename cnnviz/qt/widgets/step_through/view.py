"""Step through: one image through the learner's own network, stage by stage (input, each
layer, softmax and loss, the backward step, where the network looks), down to the
arithmetic of one output number. Prev/Next (Left/Right) walk the stages; the chain strip
shows every shape with its formula."""

from __future__ import annotations

from PyQt6.QtCore import Qt
from PyQt6.QtGui import QKeySequence, QShortcut
from PyQt6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QStackedWidget, QVBoxLayout, QWidget

from cnnviz.core.i18n import marked, tr, translate
from cnnviz.core.layers import (
    AvgPool2D,
    BatchNorm,
    Conv2D,
    Dense,
    Flatten,
    GlobalAvgPool,
    MaxPool2D,
)
from cnnviz.qt.live_model import LiveModel
from cnnviz.qt.step_model import StepModel
from cnnviz.qt.widgets.live_label import live_label
from cnnviz.qt.widgets.probe_bar import ProbeBar
from cnnviz.qt.widgets.step_through.backward import BackwardPage
from cnnviz.qt.widgets.step_through.batch_norm import BatchNormPage
from cnnviz.qt.widgets.step_through.chain import ChainStrip
from cnnviz.qt.widgets.step_through.conv import ConvPage
from cnnviz.qt.widgets.step_through.dense import DensePage
from cnnviz.qt.widgets.step_through.flatten import FlattenPage
from cnnviz.qt.widgets.step_through.input_page import InputPage
from cnnviz.qt.widgets.step_through.looks import LooksPage
from cnnviz.qt.widgets.step_through.page import Page
from cnnviz.qt.widgets.step_through.pool import PoolPage
from cnnviz.qt.widgets.step_through.softmax import SoftmaxPage

WAITING = marked("The step-through appears once the data and JAX have loaded and the network is "
           "valid; it works on the probe image (pick one above, in Predictions or in Draw).")


class DropoutPage(Page):
    def __init__(self, model: StepModel, parent: QWidget | None = None):
        super().__init__(model, parent)
        label = QLabel(tr("Dropout passes its input on unchanged when the network is used: it "
                          "only drops values (at random, the rest scaled up) while training."))
        label.setWordWrap(True)
        QVBoxLayout(self).addWidget(label, 0, Qt.AlignmentFlag.AlignTop)

    def refresh(self) -> None:
        pass


PAGES = {Conv2D: ConvPage, MaxPool2D: PoolPage, AvgPool2D: PoolPage, GlobalAvgPool: PoolPage,
         Flatten: FlattenPage, Dense: DensePage, BatchNorm: BatchNormPage}


class StepThroughView(QWidget):
    def __init__(self, model: StepModel, live: LiveModel, parent: QWidget | None = None):
        super().__init__(parent)
        self.model = model
        self.prev = QPushButton(tr("◀ Prev"))
        self.next = QPushButton(tr("Next ▶"))
        self.prev.setToolTip(tr("The stage before (Left)"))
        self.next.setToolTip(tr("The next stage (Right)"))
        self.chain = ChainStrip()
        self.weights = live_label()
        self.status = live_label(translate(WAITING), wrap=True)
        self.pages = {cls: cls(model) for cls in
                      (InputPage, ConvPage, PoolPage, FlattenPage, DensePage, BatchNormPage,
                       DropoutPage, SoftmaxPage, BackwardPage, LooksPage)}
        self.stack = QStackedWidget()
        for page in self.pages.values():
            self.stack.addWidget(page)
        top = QVBoxLayout()
        top.addWidget(ProbeBar(live))
        top.addWidget(self.weights)
        strip = QHBoxLayout()
        strip.addWidget(self.prev)
        strip.addWidget(self.chain, 1)
        strip.addWidget(self.next)
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addLayout(strip)
        layout.addWidget(self.status)
        layout.addWidget(self.stack, 1)
        self.prev.clicked.connect(lambda: model.step(-1))
        self.next.clicked.connect(lambda: model.step(+1))
        for key, delta in ((Qt.Key.Key_Left, -1), (Qt.Key.Key_Right, +1)):
            shortcut = QShortcut(QKeySequence(key), self)
            shortcut.setContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
            shortcut.activated.connect(lambda d=delta: model.step(d))
        self.chain.chosen.connect(model.set_stage)
        model.inspected.connect(self._on_inspected)
        model.stage_changed.connect(self._show_stage)
        model.selection_changed.connect(self.refresh)
        model.looks_changed.connect(self.refresh)
        model.applied_changed.connect(self.refresh)
        model.status_changed.connect(self._on_status)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)

    def page_for(self, stage: int) -> Page:
        m = self.model
        if stage == 0:
            return self.pages[InputPage]
        if stage <= m.layers:
            return self.pages[PAGES.get(type(m.inspection.spec.layers[stage - 1]), DropoutPage)]
        return self.pages[{m.softmax_stage: SoftmaxPage, m.backward_stage: BackwardPage}.get(
            stage, LooksPage)]

    @property
    def page(self) -> Page:
        return self.stack.currentWidget()

    def _on_inspected(self) -> None:
        ins = self.model.inspection
        if ins is None:
            self.status.setText(translate(WAITING))
            return
        if not self.model.status:
            self.status.setText("")
        self.chain.set_spec(ins.spec)
        self.weights.setText(self.model.step_text())
        self._show_stage(self.model.stage)

    def _show_stage(self, stage: int) -> None:
        if self.model.inspection is None:
            return
        page = self.page_for(stage)
        self.chain.set_stage(stage)
        self.prev.setEnabled(stage > 0)
        self.next.setEnabled(stage < self.model.looks_stage)
        self.stack.setCurrentWidget(page)
        page.show_stage(stage - 1 if 0 < stage <= self.model.layers else stage)

    def refresh(self) -> None:
        if self.model.inspection is not None:
            self.page.refresh()

    def _on_status(self, text: str) -> None:
        self.status.setText(text)

    def showEvent(self, event) -> None:
        super().showEvent(event)
        self.model.set_visible(True)

    def hideEvent(self, event) -> None:
        self.model.set_visible(False)
        super().hideEvent(event)


if __name__ == "__main__":
    from cnnviz.qt.widgets.step_through.preview import preview

    preview(lambda m: 1)
