"""Draw your own input: a canvas at the dataset's image size, shown large, whose picture
becomes the probe image with every stroke, so predictions and feature maps follow it.

Ink is white on black, like the built-in data. A stroke sets to full ink every pixel
whose centre lies within the brush radius of the mouse's path.
"""

from __future__ import annotations

import numpy as np
from PyQt6.QtCore import QPointF, QRectF, Qt, pyqtSignal
from PyQt6.QtGui import QColor, QImage, QPainter
from PyQt6.QtWidgets import QHBoxLayout, QPushButton, QSizePolicy, QVBoxLayout, QWidget

from cnnviz.core.i18n import marked, tr, translate
from cnnviz.core.snapshot import Views
from cnnviz.data.class_names import shown_class_names
from cnnviz.qt.live_model import DRAWING, LiveModel
from cnnviz.qt.widgets.live_label import live_label

INK = 255


def brush_radius(size: int) -> float:
    """About a stroke of a handwritten digit on MNIST's 28 pixels, in proportion."""
    return max(1.0, size / 20)


def stamp_segment(image: np.ndarray, p0: tuple[float, float], p1: tuple[float, float],
                  radius: float) -> None:
    """Ink (in place) every pixel of image (H, W, C) whose centre is within `radius` of
    the segment p0-p1; points are (x, y) in pixels, (0, 0) the top-left corner."""
    h, w = image.shape[:2]
    ys, xs = np.mgrid[0:h, 0:w] + 0.5
    (x0, y0), (x1, y1) = p0, p1
    dx, dy = x1 - x0, y1 - y0
    length2 = dx * dx + dy * dy
    t = 0.0 if length2 == 0 else np.clip(((xs - x0) * dx + (ys - y0) * dy) / length2, 0, 1)
    near = (xs - (x0 + t * dx)) ** 2 + (ys - (y0 + t * dy)) ** 2 <= radius * radius
    image[near] = INK


class DrawCanvas(QWidget):
    """The drawing (H, W, C) uint8, painted square and as large as the widget allows."""

    changed = pyqtSignal(object)  # a copy of the drawing after each stroke segment

    def __init__(self, shape: tuple[int, int, int] = (28, 28, 1), parent: QWidget | None = None):
        super().__init__(parent)
        self.setMinimumSize(140, 140)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setCursor(Qt.CursorShape.CrossCursor)
        self.setMouseTracking(True)  # moves arrive however the button state is reported
        self.setToolTip(tr("Draw with the left mouse button."))
        self.image = np.zeros(shape, np.uint8)
        self._last: tuple[float, float] | None = None

    def reset(self, shape: tuple[int, int, int]) -> None:
        self.image = np.zeros(shape, np.uint8)
        self.update()

    def clear(self) -> None:
        self.image[:] = 0
        self._emit()

    def invert(self) -> None:
        np.subtract(INK, self.image, out=self.image)
        self._emit()

    def _emit(self) -> None:
        self.update()
        self.changed.emit(self.image.copy())

    def _square(self) -> QRectF:
        side = min(self.width(), self.height())
        return QRectF((self.width() - side) / 2, (self.height() - side) / 2, side, side)

    def to_image(self, pos: QPointF) -> tuple[float, float]:
        """Widget coordinates -> (x, y) in image pixels."""
        square = self._square()
        h, w = self.image.shape[:2]
        return ((pos.x() - square.x()) / square.width() * w,
                (pos.y() - square.y()) / square.height() * h)

    def _stroke_to(self, pos: QPointF) -> None:
        point = self.to_image(pos)
        stamp_segment(self.image, self._last or point, point, brush_radius(self.image.shape[0]))
        self._last = point
        self._emit()

    def mousePressEvent(self, event) -> None:
        if event.button() == Qt.MouseButton.LeftButton:
            self._last = None
            self._stroke_to(event.position())

    def mouseMoveEvent(self, event) -> None:
        if self._last is not None:
            self._stroke_to(event.position())

    def mouseReleaseEvent(self, event) -> None:
        self._last = None

    def paintEvent(self, event) -> None:
        image = np.ascontiguousarray(self.image if self.image.shape[-1] == 3
                                     else self.image[..., 0])
        h, w = image.shape[:2]
        fmt = QImage.Format.Format_RGB888 if image.ndim == 3 else QImage.Format.Format_Grayscale8
        painter = QPainter(self)
        painter.drawImage(self._square(), QImage(image.data, w, h, image.strides[0], fmt))
        painter.setPen(QColor(128, 128, 128))
        painter.drawRect(self._square().adjusted(0, 0, -1, -1))
        painter.end()


DRAW_HINT = marked("Draw something: the prediction and the feature maps follow your strokes.")


class DrawView(QWidget):
    """The canvas, Clear and Invert, and what the network makes of the drawing."""

    def __init__(self, model: LiveModel, parent: QWidget | None = None):
        super().__init__(parent)
        self.model = model
        self.canvas = DrawCanvas()
        self.canvas.changed.connect(model.draw)
        clear = QPushButton(tr("Clear"))
        clear.setToolTip(tr("Start over with an empty (black) canvas"))
        clear.clicked.connect(self.canvas.clear)
        invert = QPushButton(tr("Invert"))
        invert.setToolTip(tr("Swap ink and background: does the network still recognise it?"))
        invert.clicked.connect(self.canvas.invert)
        self.verdict = live_label(translate(DRAW_HINT), lines=2, wrap=True)
        buttons = QHBoxLayout()
        buttons.addWidget(clear)
        buttons.addWidget(invert)
        buttons.addStretch(1)
        layout = QVBoxLayout(self)
        layout.addWidget(self.canvas, 1)
        layout.addLayout(buttons)
        layout.addWidget(self.verdict)
        model.dataset_changed.connect(self._on_dataset)
        model.views_changed.connect(self._on_views)
        self._on_dataset()

    def _on_dataset(self) -> None:
        """Other data: a clean canvas of its shape, and no verdict in the old classes."""
        self.verdict.setText(translate(DRAW_HINT))
        if self.model.dataset is not None:
            self.canvas.reset(self.model.dataset.input_shape)

    def _on_views(self, views: Views) -> None:
        probe = views.probe
        if probe.input.caption != DRAWING:
            return
        order = np.argsort(probe.probabilities)[::-1][:3]
        names = shown_class_names(views.class_names)
        guesses = ", ".join(f"{names[i]} {probe.probabilities[i]:.0%}" for i in order)
        self.verdict.setText(tr("The network thinks: <b>{guesses}</b>", guesses=guesses))


if __name__ == "__main__":
    from cnnviz.qt.widgets.preview import preview

    preview(DrawView)
