"""Core speaks Chinese: a user's error renders in the language it is read in with its
numbers, while message_of still gives its English id and values; the step-through's
formula texts say the same numbers in both languages, and name a term in both
languages the first time."""

from __future__ import annotations

import re

import numpy as np
import pytest

from cnnviz.core import arithmetic, formulas, i18n
from cnnviz.core.columns import text_width
from cnnviz.core.config import ConfigError, TrainConfig
from cnnviz.core.glossary import FirstMention
from cnnviz.core.i18n import message_of
from cnnviz.core.layers import Conv2D, Dense, Flatten, LayerFormatError, layer_from_dict
from cnnviz.core.network import NetworkError, NetworkSpec
from cnnviz.core.presets import get_preset
from cnnviz.core.shapes import ShapeError, layer_output_shape
from cnnviz.core.summary import summary_table

CJK = re.compile(r"[\u4e00-\u9fff]")


def numbers(text: str) -> list[str]:
    return re.findall(r"-?\d+(?:\.\d+)?(?:e[-+]?\d+)?", text)


@pytest.fixture
def chinese():
    i18n.install("zh_CN")
    try:
        yield
    finally:
        i18n.install("en")


def test_a_kernel_larger_than_its_input_says_so_in_chinese_with_its_numbers(chinese):
    with pytest.raises(ShapeError) as caught:
        layer_output_shape(Conv2D(4, 5), (3, 3, 1))
    text = str(caught.value)
    assert text.startswith("卷积核 5 > 输入 H 3；")
    assert "floor((3 - 5 + 0) / 1) + 1 = -1" in text
    message = message_of(caught.value)
    assert message.text.startswith("kernel {window} > input {axis} {size}; ")
    assert message.values == {"window": 5, "axis": "H", "size": 3, "pad": 0, "stride": 1,
                              "out": -1}
    i18n.install("en")  # the same exception, read again in English
    assert str(caught.value) == ("kernel 5 > input H 3; out = floor((H - K + 2P) / S) + 1 "
                                 "= floor((3 - 5 + 0) / 1) + 1 = -1")


def test_a_network_error_is_read_in_the_language_of_the_moment(chinese):
    spec = NetworkSpec((3, 3, 1), (Conv2D(4, 5), Flatten(), Dense(10, "none")))
    with pytest.raises(NetworkError) as caught:
        spec.check()
    assert str(caught.value).startswith("conv1：卷积核 5 > 输入 H 3")
    problem = caught.value.problems[0]
    assert problem.text.text.startswith("kernel {window}")  # the id, in English
    assert spec.analyze().layers[0].error == problem.message
    i18n.install("en")
    assert str(caught.value).startswith("conv1: kernel 5 > input H 3")
    assert problem.message.startswith("kernel 5 > input H 3")


@pytest.mark.parametrize(("settings", "chinese_text", "english_id", "values"), [
    ({"batch_size": 0}, "批大小必须是 >= 1 的整数，实际为 0",
     "{name} must be a whole number >= {low}, got {value}", {"low": 1, "value": "0"}),
    ({"learning_rate": 20.0}, "学习率必须在 (0, 10] 之内，实际为 20.0",
     "learning rate must be in (0, {most:g}], got {value}", {"most": 10.0, "value": "20.0"}),
    ({"augment": "flip,spin"}, "未知的数据增强 spin（可用：flip, shift, rotate, noise）",
     "unknown augmentation {names} (known: {known})",
     {"names": "spin", "known": "flip, shift, rotate, noise"}),
])
def test_an_invalid_config_says_so_in_chinese(chinese, settings, chinese_text, english_id,
                                               values):
    with pytest.raises(ConfigError) as caught:
        TrainConfig(**settings)
    assert str(caught.value) == chinese_text
    message = message_of(caught.value)
    assert message.text == english_id
    assert {k: v for k, v in message.values.items() if k in values} == values


def test_a_layer_missing_a_field_names_it_in_both_languages(chinese):
    with pytest.raises(LayerFormatError) as caught:
        layer_from_dict({"type": "dense", "activation": "relu"})
    assert str(caught.value) == "dense：缺少字段 units"
    i18n.install("en")
    assert str(caught.value) == "dense: missing field(s) units"


def conv_example():
    rng = np.random.default_rng(3)
    inputs = rng.normal(size=(5, 5, 2))
    kernel, bias = rng.normal(size=(3, 3, 2, 4)), rng.normal(size=4)
    return arithmetic.conv_output(inputs, kernel, bias, 1, 2, 3, 1, "valid", "relu")


def test_a_conv_pixels_explanation_carries_the_same_numbers_in_chinese():
    out = conv_example()
    english = formulas.conv_lines(out, 1, 2, 1)
    i18n.install("zh_CN")
    try:
        chinese = formulas.conv_lines(out, 1, 2, 1)
    finally:
        i18n.install("en")
    assert len(chinese) == len(english) == 4
    assert english[1] == "sum of each input channel's 3x3 products, channel 0 first"
    assert chinese[1] == "每个输入通道 channel的 3x3 个乘积之和，从通道 0 开始"
    for en, zh in zip(english, chinese, strict=True):
        assert numbers(en) == numbers(zh)
    assert chinese[2] == english[2] and chinese[2].endswith(formulas.plain(out.pre_activation))


def test_formula_texts_name_a_term_in_both_languages_once_per_text(chinese):
    window = arithmetic.pool_window(np.arange(16.0).reshape(4, 4, 1), 0, 0, 0, 2, 2, "max")
    mention = FirstMention()
    first = formulas.pool_lines(window, mention)
    update = arithmetic.adam_update(0.5, 0.1, 1e-3, 0.0, 0.0, 0, 0.9, 0.999, 1e-7)
    later = formulas.update_lines(update, {"b1": 0.9, "b2": 0.999, "eps": 1e-7}, mention)
    assert first[1] == "梯度 gradient只传回输入 (1, 1)，即第一个最大值所在处"
    # the same text goes on: gradient already introduced, learning rate new
    assert later[0] == "adam，学习率 learning rate 0.001，梯度 g = 0.1"
    assert formulas.update_lines(update, {"b1": 0.9, "b2": 0.999, "eps": 1e-7})[0] == (
        "adam，学习率 learning rate 0.001，梯度 gradient g = 0.1")  # a text of its own
    i18n.install("en")
    assert formulas.pool_lines(window)[1] == (
        "the gradient goes back only to input (1, 1), the first maximum")


def test_a_summary_and_a_preset_speak_chinese(chinese):
    preset = get_preset("keras-cifar10")
    assert CJK.search(preset.description) and "122,570" in preset.description
    table = summary_table(preset.spec)
    assert "参数总数：122,570" in table and "层（类型）" in table
    lines = table.splitlines()
    # columns stay aligned though Chinese characters take two columns each
    header, first = lines[1], lines[3]
    assert text_width(header) == text_width(first)
    i18n.install("en")
    assert preset.description.startswith("The Keras/TensorFlow CIFAR-10 tutorial CNN")
    assert "Total params: 122,570" in summary_table(preset.spec)
