"""core.formulas: the output-size formula, filled in, evaluates to the size shape inference
gives; the worked example reads like the textbook; formula lines carry the numbers of the
arithmetic they print."""

import re

import numpy as np
import pytest

from cnnviz.core import arithmetic as ar
from cnnviz.core import formulas
from cnnviz.core.layers import AvgPool2D, Conv2D, Dense, Flatten, GlobalAvgPool, MaxPool2D
from cnnviz.core.presets import get_preset
from cnnviz.core.shapes import layer_output_shape


def evaluate(axis_formula: str) -> int:
    """The formula's left side computed from the numbers written in it (⌊⌋ = floor)."""
    left = axis_formula.split(" = ")[0].replace("⌊", "(").replace("⌋", ")//1").replace("·", "*")
    return int(eval(left.replace("/", "//", 1), {}))  # noqa: S307 (our own digits only)


@pytest.mark.parametrize("layer", [
    Conv2D(4, 3), Conv2D(4, 3, 2), Conv2D(4, 5, 1, "same"), Conv2D(4, 4, 1, "same"),
    Conv2D(4, 3, 2, "same"), Conv2D(4, 4, 3, "same"), MaxPool2D(2), MaxPool2D(3, 2),
    AvgPool2D(2, 1)])
@pytest.mark.parametrize("size", [7, 28, 31, 32])
def test_the_filled_in_size_formula_evaluates_to_the_inferred_size(layer, size):
    out = layer_output_shape(layer, (size, size, 3))
    text = formulas.size_formula(layer, (size, size, 3), out)
    assert text.endswith(f"= {out[0]}")
    assert evaluate(text) == out[0]


def test_the_worked_example_reads_like_the_textbook():
    spec = get_preset("worked-example").spec
    lines = [formulas.size_formula(i.layer, i.in_shape, i.out_shape)
             for i in spec.analyze().layers]
    assert lines == ["(32 - 3 + 2·0)/1 + 1 = 30", "(30 - 2 + 2·0)/2 + 1 = 15",
                     "15·15·4 = 900", "900 inputs -> 10 units"]


def test_non_square_inputs_get_a_formula_per_axis_and_other_layers_say_what_they_do():
    text = formulas.size_formula(Conv2D(2, 3), (10, 7, 1), (8, 5, 2))
    assert text == "rows (10 - 3 + 2·0)/1 + 1 = 8; columns (7 - 3 + 2·0)/1 + 1 = 5"
    assert formulas.size_formula(GlobalAvgPool(), (5, 5, 8), (8,)) == (
        "the mean of each 5x5 map: 8 values")
    assert formulas.size_formula(Flatten(), (5, 5, 8), (200,)) == "5·5·8 = 200"
    assert formulas.size_formula(Dense(3), (200,), (3,)) == "200 inputs -> 3 units"


def numbers_in(line: str) -> list[float]:
    return [float(v) for v in re.findall(r"-?\d+(?:\.\d+)?(?:e-?\d+)?", line)]


def test_the_conv_line_lists_every_product_and_the_total():
    x = np.arange(16, dtype=float).reshape(4, 4, 1) / 10
    kernel = np.full((3, 3, 1, 1), -0.5)
    out = ar.conv_output(x, kernel, np.array([0.25]), 1, 0, 0, 1, "valid", "relu")
    textbook, numbers, activation = formulas.conv_lines(out, 1, 0, 1)
    assert textbook == "out(i, j) = Σx Σy in(i + x, j + y) · k(x, y) + b"
    assert numbers.startswith("out(1, 0) = 0.4·(-0.5) + 0.5·(-0.5) + 0.6·(-0.5) + 0.8·(-0.5)")
    assert numbers.endswith(f"= {out.pre_activation:.4g}")
    assert activation == f"relu({out.pre_activation:.4g}) = 0"


def test_the_update_lines_end_in_the_new_weight():
    u = ar.adam_update(0.5, -0.2, 0.01, m=0.05, v=0.02, count=3, b1=0.9, b2=0.999, eps=1e-7)
    lines = formulas.update_lines(u, {"b1": 0.9, "b2": 0.999, "eps": 1e-7})
    assert lines[1] == "t = 4"
    assert any(line.endswith(f"= {u.new_weight:.4g}") for line in lines)
    assert numbers_in(lines[-1])[0] == pytest.approx(float(u.step), rel=1e-3)
