"""Class names shown in the reader's language, kept in English everywhere else: the
built-in datasets' names read in Chinese, a folder dataset's names as they are, and the
CLI's text says 正方形 where its `--json` and its exports keep "square"."""

import cnnviz.engine  # noqa: F401, I001  (first: sets XLA's flags before JAX starts)

import json

import pytest
from test_data_folder import _make_folder
from test_i18n_cli import CHINESE, ENGLISH, _main
from test_i18n_core import chinese  # noqa: F401 (fixture)

import reference
from cnnviz.core import i18n
from cnnviz.core.config import TrainConfig
from cnnviz.core.presets import get_preset
from cnnviz.data import digits, shapes, standard
from cnnviz.data.class_names import BUILT_IN, shown_class_name, shown_class_names
from cnnviz.data.registry import load_dataset
from cnnviz.io.project import Project, save_project

# The textbook's words, written out here rather than read back from the catalogue: a
# class name that came to share its msgid with another message ("line", "cross") and
# took that one's translation fails here.
CHINESE_NAMES = {
    "shapes": ("圆形", "正方形", "三角形", "十字", "线段"),
    "outlines": ("圆环", "正方形轮廓", "三角形轮廓", "十字轮廓", "线段轮廓"),
    "cifar10": ("飞机", "汽车", "鸟", "猫", "鹿", "狗", "青蛙", "马", "船", "卡车"),
    "fashion-mnist": ("T恤/上衣", "裤子", "套头衫", "连衣裙", "外套", "凉鞋", "衬衫", "运动鞋",
                      "包", "短靴"),
}
ENGLISH_NAMES = {"shapes": shapes.CLASS_NAMES, "outlines": shapes.OUTLINE_CLASSES,
                 "cifar10": standard.STANDARD["cifar10"].class_names,
                 "fashion-mnist": standard.STANDARD["fashion-mnist"].class_names}


@pytest.mark.usefixtures("chinese")
@pytest.mark.parametrize("dataset", list(CHINESE_NAMES))
def test_the_built_in_names_read_as_the_textbook_writes_them(dataset):
    assert shown_class_names(ENGLISH_NAMES[dataset]) == CHINESE_NAMES[dataset]


@pytest.mark.parametrize("dataset", list(CHINESE_NAMES))
def test_in_english_they_are_the_names_themselves(dataset):
    assert shown_class_names(ENGLISH_NAMES[dataset]) == ENGLISH_NAMES[dataset]


@pytest.mark.usefixtures("chinese")
def test_every_built_in_name_has_a_translation_and_digits_stay_digits():
    assert set(digits.CLASS_NAMES) <= BUILT_IN
    assert shown_class_names(digits.CLASS_NAMES) == digits.CLASS_NAMES
    words = BUILT_IN - set(digits.CLASS_NAMES)
    assert words == {n for names in ENGLISH_NAMES.values() for n in names}
    assert all(shown_class_name(name) != name for name in words)


@pytest.mark.usefixtures("chinese")
def test_a_folder_datasets_names_are_shown_as_they_are(tmp_path):
    # "input" and "right" are words the interface translates elsewhere
    names = ("cats", "input", "right")
    assert all(i18n.translate(n) != n for n in names[1:])
    data = load_dataset(f"folder:{_make_folder(tmp_path / 'pets', names, per_class=4)}",
                        image_size=8)
    assert data.class_names == names
    assert shown_class_names(data.class_names) == names


@pytest.fixture(scope="module")
def shapes_project(tmp_path_factory):
    """A `tiny` network on shapes with random weights, saved."""
    spec = get_preset("tiny").spec
    path = tmp_path_factory.mktemp("class-names") / "shapes.cnnviz"
    save_project(path, Project(spec, TrainConfig(), "shapes",
                               reference.random_weights(spec, seed=2)))
    return path


@pytest.fixture(scope="module")
def shapes_test_labels():
    config = TrainConfig()
    data = load_dataset("shapes", seed=config.seed,
                        validation_fraction=config.validation_fraction)
    return data.y_test


def test_explain_says_the_class_in_chinese_and_its_json_in_english(
        monkeypatch, shapes_project, shapes_test_labels):
    image = 1
    label = int(shapes_test_labels[image])
    english, in_chinese = shapes.CLASS_NAMES[label], CHINESE_NAMES["shapes"][label]
    args = ("explain", shapes_project, "--image", image, "--layer", "softmax")
    code, text, err = _main(CHINESE, monkeypatch, *args)
    assert code == 0, err
    assert f"真实类别 {in_chinese}" in text.splitlines()[0]  # the header line
    assert f"p(真实类别 {in_chinese})" in text  # the loss line of core.formulas
    assert english not in text
    code, out, err = _main(CHINESE, monkeypatch, *args, "--json")
    assert code == 0, err
    assert json.loads(out)["class"] == english
    code, text, err = _main(ENGLISH, monkeypatch, *args)
    assert code == 0, err
    assert f"(true class {english})" in text and in_chinese not in text


def test_an_export_made_in_chinese_keeps_the_english_names(monkeypatch, shapes_project,
                                                           tmp_path):
    out = tmp_path / "export"
    code, _, err = _main(CHINESE, monkeypatch, "export", shapes_project, "--format", "npz",
                         "--out", out)
    assert code == 0, err
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["class_names"] == list(shapes.CLASS_NAMES)
    readme = (out / "README.md").read_text(encoding="utf-8")
    assert ", ".join(shapes.CLASS_NAMES) in readme and "正方形" not in readme
