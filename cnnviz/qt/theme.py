"""Light and dark themes: the Fusion style with a matching palette on every platform."""

from __future__ import annotations

from PyQt6.QtCore import Qt
from PyQt6.QtGui import QColor, QPalette
from PyQt6.QtWidgets import QApplication, QProxyStyle, QStyle

from cnnviz.core.i18n import marked

# the setting's value -> the name the View menu shows (translated there)
THEMES = {"system": marked("System"), "light": marked("Light"), "dark": marked("Dark")}

_DARK = {
    QPalette.ColorRole.Window: "#2d2f33",
    QPalette.ColorRole.WindowText: "#e6e6e6",
    QPalette.ColorRole.Base: "#202225",
    QPalette.ColorRole.AlternateBase: "#292b2f",
    QPalette.ColorRole.ToolTipBase: "#202225",
    QPalette.ColorRole.ToolTipText: "#e6e6e6",
    QPalette.ColorRole.PlaceholderText: "#8a8d91",
    QPalette.ColorRole.Text: "#e6e6e6",
    QPalette.ColorRole.Button: "#34373c",
    QPalette.ColorRole.ButtonText: "#e6e6e6",
    QPalette.ColorRole.BrightText: "#ff6b6b",
    QPalette.ColorRole.Light: "#45484d",
    QPalette.ColorRole.Midlight: "#3a3d42",
    QPalette.ColorRole.Mid: "#25272a",
    QPalette.ColorRole.Dark: "#1a1b1e",
    QPalette.ColorRole.Shadow: "#000000",
    QPalette.ColorRole.Highlight: "#3d7fd6",
    QPalette.ColorRole.HighlightedText: "#ffffff",
    QPalette.ColorRole.Link: "#6aa7f0",
}
_DARK_DISABLED = {
    QPalette.ColorRole.WindowText: "#7d8085",
    QPalette.ColorRole.Text: "#7d8085",
    QPalette.ColorRole.ButtonText: "#7d8085",
    QPalette.ColorRole.HighlightedText: "#b0b0b0",
}


def dark_palette() -> QPalette:
    palette = QPalette()
    for role, color in _DARK.items():
        palette.setColor(role, QColor(color))
    for role, color in _DARK_DISABLED.items():
        palette.setColor(QPalette.ColorGroup.Disabled, role, QColor(color))
    return palette


def is_dark(name: str) -> bool:
    if name == "system":
        return QApplication.styleHints().colorScheme() == Qt.ColorScheme.Dark
    return name == "dark"


def apply_theme(app: QApplication, name: str) -> None:
    app.setStyle("Fusion")
    app.setPalette(dark_palette() if is_dark(name) else app.style().standardPalette())


# -- text size ------------------------------------------------------------------------------
# The interface's text size as a factor of the system's, in steps a projector may need.
FONT_SCALES = (0.8, 0.9, 1.0, 1.1, 1.25, 1.4, 1.6, 1.8, 2.0, 2.5)
_BASE_SIZE = "cnnviz_base_point_size"  # an application property: the system's point size


def font_scale_step(scale: float, steps: int) -> float:
    """The scale `steps` places up (or down, if negative) FONT_SCALES from `scale`."""
    here = min(range(len(FONT_SCALES)), key=lambda i: abs(FONT_SCALES[i] - scale))
    return FONT_SCALES[max(0, min(len(FONT_SCALES) - 1, here + steps))]


def apply_font_scale(app: QApplication, scale: float) -> None:
    """Every widget's text at `scale` times the system's size (widgets that set no font
    of their own follow the application's, pyqtgraph's scenes too)."""
    base = app.property(_BASE_SIZE)
    if base is None:
        base = app.font().pointSizeF()
        app.setProperty(_BASE_SIZE, base)
    font = app.font()
    font.setPointSizeF(base * scale)
    app.setFont(font)


class CompactTabs(QProxyStyle):
    """The application's style, with less space beside a tab's title: a tab bar with
    many tabs shows them all in a small window instead of scrolling them."""

    TAB_PADDING = 12  # pixels beside each title, both sides together (Fusion: 24)

    def pixelMetric(self, metric, option=None, widget=None) -> int:
        if metric == QStyle.PixelMetric.PM_TabBarTabHSpace:
            return self.TAB_PADDING
        return super().pixelMetric(metric, option, widget)
