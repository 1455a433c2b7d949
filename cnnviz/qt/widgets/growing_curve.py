"""A plotted curve that grows at its end while a run trains.

Drawn as one item, every new point would repaint the whole curve: the item's bounds, and
so the area Qt repaints, span the plot, and a noisy per-step curve of thousands of
points costs milliseconds to draw, many times a second. So the curve is drawn in
chunks: the points already shown are frozen in items that never change again, and only
a short tail item takes new points. A redraw then repaints the tail's narrow strip.
"""

from __future__ import annotations

import pyqtgraph as pg
from PyQt6.QtGui import QPen

from cnnviz.qt.widgets.series import Series

CHUNK_COLUMNS = 48  # pixel columns of points the tail takes before it is frozen


class GrowingCurve:
    """The curve of a Series on `plot`: `draw()` after points were appended, `reset()`
    after they were replaced. Drawn with about one point (`method` 'peak': a min and a
    max) every `pixels` pixel columns."""

    def __init__(self, plot: pg.PlotItem, pen: QPen, name: str | None = None,
                 method: str = "peak", pixels: int = 1, z: float = 0.0):
        """`z`: the stacking order among the plot's items (every chunk shares it: a
        chunk added later must not cover curves drawn above this one)."""
        self.plot, self.pen, self.method, self.pixels, self.z = plot, pen, method, pixels, z
        self.factor = 1  # points per drawn point
        self.items = [self._new_item(name)]  # frozen ones, then the tail; the first is
        self.start = 0  # in the legend. Index of the tail's first point in the series

    @property
    def tail(self) -> pg.PlotDataItem:
        return self.items[-1]

    def _new_item(self, name: str | None = None) -> pg.PlotDataItem:
        item = self.plot.plot(pen=self.pen, name=name, skipFiniteCheck=True)
        item.setZValue(self.z)
        item.setDownsampling(ds=self.factor, auto=False, method=self.method)
        return item

    def set_pen(self, pen: QPen) -> None:
        self.pen = pen
        for item in self.items:
            item.setPen(pen)

    def reset(self) -> None:
        """Forget the chunks: the next draw starts again from the first point."""
        for item in self.items[1:]:
            self.plot.removeItem(item)
        del self.items[1:]
        self.start = 0

    def draw(self, series: Series, steps_per_pixel: float) -> None:
        factor = max(1, int(self.pixels * steps_per_pixel))
        if factor != self.factor:  # the plot was resized or the run's length changed
            self.factor = factor
            self.reset()
            self.tail.setDownsampling(ds=factor, auto=False, method=self.method)
        end = len(series)
        self.tail.setData(series.x[self.start:end], series.y[self.start:end],
                          skipFiniteCheck=True)
        if end - self.start >= max(CHUNK_COLUMNS * steps_per_pixel, factor):
            # freeze the tail; the next one starts at its last point, so the line joins
            self.items.append(self._new_item())
            self.start = end - 1
