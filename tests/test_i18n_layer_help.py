"""The builder's teaching texts in Chinese: each layer's help introduces the textbook's
terms in both languages and keeps the formulas' notation; the formulas under the mouse
carry the same numbers in both languages."""

import re

import pytest

from cnnviz.core import i18n
from cnnviz.core.layers import LAYER_TYPES, Conv2D, Dense, Flatten, MaxPool2D
from cnnviz.core.network import NetworkSpec
from cnnviz.qt.widgets.layer_help import FIELDS, layer_tip, params_formula, shape_formula


@pytest.fixture
def chinese():
    i18n.install("zh_CN")
    yield
    i18n.install("en")


def infos():
    spec = NetworkSpec((32, 32, 3), (Conv2D(16, 3), MaxPool2D(2), Flatten(), Dense(10)))
    return spec.analyze(10).layers


def numbers(text: str) -> list[str]:
    return re.findall(r"\d[\d,]*", text)


def test_every_layer_type_has_help_with_its_terms_filled_in():
    for layer_type in LAYER_TYPES.values():
        text = layer_tip(layer_type)
        assert text and "{" not in text, layer_type.__name__
    assert layer_tip(Conv2D).startswith("2-D convolution (cross-correlation")


def test_chinese_help_names_each_term_in_both_languages_and_keeps_the_formulas(chinese):
    conv = layer_tip(Conv2D)
    assert conv.startswith("二维卷积 convolution")
    assert "卷积核 kernel" in conv and "通道 channel" in conv
    assert "H' = floor((H - K) / S) + 1" in conv and "H' = ceil(H / S)" in conv
    assert "最大池化 max pooling" in layer_tip(MaxPool2D)
    assert "全连接层 fully connected layer" in layer_tip(Dense)
    assert all(re.search("[\u4e00-\u9fff]", str(f.label) + str(f.tip)) for f in FIELDS.values())


def test_the_formulas_carry_the_same_numbers_in_both_languages():
    english = [(shape_formula(i), params_formula(i)) for i in infos()]
    i18n.install("zh_CN")
    try:
        chinese = [(shape_formula(i), params_formula(i)) for i in infos()]
    finally:
        i18n.install("en")
    assert english != chinese
    for (shape_en, params_en), (shape_zh, params_zh) in zip(english, chinese, strict=True):
        assert numbers(shape_en) == numbers(shape_zh)
        assert numbers(params_en) == numbers(params_zh)
    assert "= 448" in english[0][1] and "= 448" in chinese[0][1]  # 3 x 3 x 3 x 16 + 16
    assert "15 x 15 x 16 = 一行 3,600 个值" in chinese[2][0]
