"""A spin box for a learning rate: any rate the training config accepts, (0, 10], shown
and typed as a number of significant digits, in scientific notation when small (1e-06),
stepped by a tenth of its decade (0.003 -> 0.0031; 1e-06 -> 1.1e-06).

QDoubleSpinBox counts decimals after the point: five of them cannot show 1e-6, and it
rounds every value to its decimals. Here the decimals are as many as a double has, so
no rate is rounded, and the text is Python's %g of the value.
"""

from __future__ import annotations

import math
import re
import sys

from PyQt6.QtGui import QValidator
from PyQt6.QtWidgets import QDoubleSpinBox, QWidget

from cnnviz.core.config import MAX_LEARNING_RATE

DIGITS = 6  # significant digits shown
MIN_RATE = sys.float_info.min  # the smallest positive double that is not subnormal
# what a person may be half-way through typing: "1e", "1e-", "2.", "."
_PARTIAL = re.compile(r"\s*(\d*\.?\d*)([eE][-+]?\d*)?\s*")


class RateBox(QDoubleSpinBox):
    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setDecimals(323)  # Qt's most: rounding to them keeps every normal double
        self.setRange(MIN_RATE, MAX_LEARNING_RATE)

    def stepBy(self, steps: int) -> None:
        """Each step a tenth of the value's decade (down from a power of ten, of the
        decade below: 0.001 -> 0.00099), kept to the digits shown."""
        value = self.value()
        for _ in range(abs(steps)):
            decade = math.floor(math.log10(value))
            if steps < 0 and math.isclose(value, 10.0 ** decade):
                decade -= 1
            value = float(self.textFromValue(value + math.copysign(10.0 ** (decade - 1),
                                                                   steps)))
        self.setValue(value)  # within the range; one valueChanged

    def textFromValue(self, value: float) -> str:
        return f"{value:.{DIGITS}g}"

    def valueFromText(self, text: str) -> float:
        try:
            return float(text)
        except ValueError:
            return self.value()

    def validate(self, text: str, pos: int) -> tuple[QValidator.State, str, int]:
        try:
            value = float(text)
        except ValueError:
            partial = _PARTIAL.fullmatch(text) is not None
            return (QValidator.State.Intermediate if partial else QValidator.State.Invalid,
                    text, pos)
        ok = MIN_RATE <= value <= MAX_LEARNING_RATE
        return (QValidator.State.Acceptable if ok else QValidator.State.Intermediate, text,
                pos)

    def fixup(self, text: str) -> str:
        """Text that is no rate (empty, 0, too large) goes back to the value it had."""
        return self.textFromValue(self.value())


if __name__ == "__main__":
    from PyQt6.QtWidgets import QApplication

    app = QApplication([])
    box = RateBox()
    box.setValue(1e-6)
    box.valueChanged.connect(print)
    box.show()
    app.exec()
