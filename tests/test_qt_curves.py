"""The live curves' y axis: it grows when a new point exceeds it, and only then."""

import numpy as np
import pyqtgraph as pg

from cnnviz.qt.widgets.curves import MetricPlot


def test_the_loss_axis_grows_with_a_new_highest_point(qtbot):
    view = pg.PlotWidget()
    qtbot.addWidget(view)
    metric = MetricPlot(view.getPlotItem(), "loss", 0.9)

    def top() -> float:
        return view.getPlotItem().vb.viewRange()[1][1]

    metric.add_steps(1, np.array([0.9, 0.5, 0.4]))
    metric.redraw()
    assert 1.0 <= top() < 1.1  # 0..1 (and a little padding) fits them
    metric.add_steps(4, np.array([0.3, 3.0, 0.2]))  # a spike, then back down
    metric.redraw()
    assert 3.3 <= top() < 3.5  # 10 % above the spike
    metric.add_steps(7, np.array([0.1]))
    metric.redraw()
    assert 3.3 <= top() < 3.5  # kept
    metric.clear()
    metric.add_steps(1, np.array([0.5]))
    metric.redraw()
    assert 1.0 <= top() < 1.1  # a new run starts from 0..1
