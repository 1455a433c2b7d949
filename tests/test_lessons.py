"""core.lessons: the shipped lessons read and check, a broken lesson is explained and left
out, any file at all ends in a lesson or a LessonError; the learner's numbers quoted."""

from __future__ import annotations

import random
import re
import string

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cnnviz.core import lesson_vocabulary as vocabulary
from cnnviz.core.config import TrainConfig
from cnnviz.core.history import History
from cnnviz.core.i18n import LANGUAGES
from cnnviz.core.layers import Conv2D, Dense, Flatten, MaxPool2D
from cnnviz.core.lesson_quotes import quote_values
from cnnviz.core.lessons import (
    LESSONS_DIR,
    MISSING,
    LessonError,
    in_language,
    lesson_from_data,
    load_lessons,
    parse_lesson,
    quote,
)
from cnnviz.core.network import NetworkSpec
from cnnviz.core.presets import get_preset
from cnnviz.data.registry import DATASETS

SHIPPED = load_lessons()
TEXTBOOK_ORDER = ["convolution", "pooling", "fully-connected", "worked-case", "training",
                  "keras-cifar10", "overfitting", "fine-tuning", "compression"]


def quotes_in(text: str) -> set[str]:
    return {f for _, f, _, _ in string.Formatter().parse(text) if f}


def test_the_nine_lessons_load_in_the_textbooks_order():
    assert SHIPPED.problems == []
    assert [x.id.split("-", 1)[1] for x in SHIPPED.lessons] == TEXTBOOK_ORDER


@pytest.mark.parametrize("lesson", SHIPPED.lessons, ids=[x.id for x in SHIPPED.lessons])
def test_every_text_is_in_every_language_and_quotes_the_same_numbers(lesson):
    for texts in (lesson.title, lesson.summary, *(s.text for s in lesson.steps)):
        assert set(texts) == set(LANGUAGES)
        assert len({frozenset(quotes_in(t)) for t in texts.values()}) == 1, texts["en"]


@pytest.mark.parametrize("lesson", SHIPPED.lessons, ids=[x.id for x in SHIPPED.lessons])
def test_the_data_and_presets_a_lesson_names_exist(lesson):
    for step in lesson.steps:
        for name, value in (*step.setup, *step.solution, *step.check):
            if name == "dataset":
                assert set([value] if isinstance(value, str) else value) <= set(DATASETS)
                assert isinstance(value, str) or DATASETS[value[-1]].info.builtin
            if name == "preset":
                get_preset(value)


def test_the_vocabulary_is_documented_for_lesson_writers():
    readme = (LESSONS_DIR / "README.md").read_text(encoding="utf-8")
    words = [t.name for t in (*vocabulary.ACTIONS, *vocabulary.CHECKS)]
    words += [*vocabulary.VIEWS, *vocabulary.TARGETS, *vocabulary.FEATURES]
    words += [f"{{{q}}}" for q in vocabulary.QUOTES]
    words += [f"{{{q}[conv1]}}" for q in vocabulary.LAYER_QUOTES]
    assert [w for w in words if f"`{w}`" not in readme] == []


GOOD = '''
title.en = "T"
summary.en = "S"
[[steps]]
text.en = "Make conv1 {shape[conv1]}"
[steps.check]
layer_output_shape = { layer = "conv1", shape = [30, 30] }
[steps.solution]
edit_layer = { layer = "conv1", kernel_size = 3 }
'''


@pytest.mark.parametrize(("change", "error"), [
    (("[steps.check]", "[steps.chek]"), "step 1: unknown key.s. chek"),
    ('edit_layer = { layer = "conv1", kernel_size = 3 }',
     "step 1: a step with a check needs a solution"),
    (("layer_output_shape", "layer_output_shap"),
     "step 1: check: unknown word layer_output_shap"),
    (("[30, 30]", "[30, -1]"), "step 1: check.layer_output_shape: expected a whole number"),
    (("kernel_size = 3", "kernel_sise = 3"), "step 1: solution.edit_layer: expected one of"),
    (("{shape[conv1]}", "{shape}"), r"step 1: text.en: unknown quote \{shape\}"),
    (("{shape[conv1]}", "{loss.real}"), "unknown quote"),
    (("{shape[conv1]}", "{"), "a brace that opens no quote"),
    (('title.en = "T"', 'title.fr = "T"'), "title needs a table of texts with at least en"),
    (('summary.en = "S"', 'summary.en = "S"\nrequires = ["time-travel"]'),
     "requires must list features from"),
    (('text.en = "Make', 'text.de = "x"\ntext.en = "Make'), "unknown language de"),
    (("[[steps]]", "[[stepz]]"), "unknown key.s. stepz"),
    (('title.en = "T"', 'title.en = "T'), "not valid TOML"),
])
def test_a_broken_lesson_says_which_step_breaks_which_rule(change, error):
    old, new = change if isinstance(change, tuple) else (change, "")
    with pytest.raises(LessonError, match=error) as caught:
        parse_lesson(GOOD.replace(old, new), "05-mine")
    assert str(caught.value).startswith("05-mine")


def test_a_broken_file_is_left_out_with_a_line_and_the_others_load(tmp_path):
    (tmp_path / "01-good.toml").write_text(GOOD, encoding="utf-8")
    (tmp_path / "02-broken.toml").write_text(GOOD.replace("[[steps]]", ""), encoding="utf-8")
    (tmp_path / "03-binary.toml").write_bytes(b"\xff\xfe\x00")
    (tmp_path / "notes.txt").write_text("not a lesson", encoding="utf-8")
    catalogue = load_lessons(tmp_path)
    assert [x.id for x in catalogue.lessons] == ["01-good"]
    assert len(catalogue.problems) == 2
    assert catalogue.problems[0].startswith("02-broken")
    assert "not UTF-8" in catalogue.problems[1]
    assert "cannot be read" in load_lessons(tmp_path / "missing").problems[0]


def test_a_lesson_file_too_large_is_refused_before_it_is_read(tmp_path):
    (tmp_path / "01-huge.toml").write_text(GOOD + "#" * 300_000, encoding="utf-8")
    assert "larger than" in load_lessons(tmp_path).problems[0]


def test_deep_nesting_is_a_lesson_error_not_a_crash():
    with pytest.raises(LessonError):
        parse_lesson("a = " + "[" * 50_000 + "]" * 50_000, "01-deep")


def _mutate(text: str, rng: random.Random) -> str:
    """One of the ways a file goes wrong: bytes changed, cut, repeated or shuffled."""
    chars = list(text)
    for _ in range(rng.randint(1, 6)):
        i = rng.randrange(len(chars))
        kind = rng.randrange(4)
        if kind == 0:
            chars[i] = rng.choice('[]{}="\n,.-0123456789aet_ ')
        elif kind == 1:
            del chars[i:i + rng.randint(1, 40)]
        elif kind == 2:
            chars[i:i] = chars[i:i + rng.randint(1, 40)]
        else:
            lines = "".join(chars).split("\n")
            rng.shuffle(lines)
            chars = list("\n".join(lines))
    return "".join(chars)


@pytest.mark.parametrize("seed", range(4))
def test_mutated_lesson_files_load_or_fail_with_a_lesson_error(seed):
    rng = random.Random(seed)
    texts = [p.read_text(encoding="utf-8") for p in sorted(LESSONS_DIR.glob("*.toml"))]
    outcomes = set()
    for _ in range(300):
        try:
            parse_lesson(_mutate(rng.choice(texts), rng), "fuzz")
            outcomes.add("lesson")
        except LessonError:
            outcomes.add("error")
    assert outcomes == {"lesson", "error"}  # the mutations reach both ends


values = st.recursive(st.none() | st.booleans() | st.integers() | st.floats()
                      | st.text(max_size=8) | st.sampled_from(
                          ["conv1", "conv2d", "en", "digits-32", "true", "input"]),
                      lambda inner: st.lists(inner, max_size=3)
                      | st.dictionaries(st.sampled_from(
                          ["text", "en", "zh_CN", "setup", "check", "solution", "requires",
                           "layer", "shape", "type", "after", "kernel_size", "view",
                           "dataset", "config", "network", "add_layer", "edit_layer",
                           "layer_output_shape", "epochs", "augment"]), inner, max_size=4),
                      max_leaves=12)


@settings(max_examples=400, deadline=None)
@given(st.dictionaries(st.sampled_from(["title", "summary", "requires", "steps"]), values))
def test_any_structure_is_a_lesson_or_a_lesson_error(data):
    try:
        lesson_from_data(data, "fuzz")
    except LessonError as exc:
        assert str(exc).startswith("fuzz")


# -- the learner's numbers ------------------------------------------------------------------
def test_quotes_are_filled_and_a_missing_number_is_a_dash():
    values = {"loss": None, "shape": {"conv1": "30 × 30 × 4"}, "input": "32 × 32 × 1"}
    assert quote("in {input}, out {shape[conv1]}", values) == "in 32 × 32 × 1, out 30 × 30 × 4"
    assert quote("{shape[conv9]} {loss} {{literal}}", values) == f"{MISSING} {MISSING} {{literal}}"


def test_the_worked_case_numbers_are_the_analysis_and_the_textbooks():
    spec = NetworkSpec((32, 32, 1), (Conv2D(4, 3), MaxPool2D(2), Flatten(), Dense(10, "none")))
    history = History()
    history.add_steps([2.5, 2.0], [0.1, 0.25])
    q = quote_values(spec, spec.analyze(10), TrainConfig(), "digits-32", 10, history, None)
    # by hand: floor((32 - 3) / 1) + 1 = 30; floor((30 - 2) / 2) + 1 = 15; 15 * 15 * 4
    assert q["shape"] == {"conv1": "30 × 30 × 4", "maxpool1": "15 × 15 × 4",
                          "flatten1": "900", "dense1": "10"}
    assert q["params"]["conv1"] == str(3 * 3 * 1 * 4 + 4)
    assert q["params"]["dense1"] == f"{900 * 10 + 10:,}"
    assert q["total_params"] == f"{40 + 9010:,}"
    assert (q["kernel"], q["filters"]) == ({"conv1": 3, "maxpool1": 2}, {"conv1": 4})
    assert (q["loss"], q["accuracy"], q["steps"], q["val_accuracy"]) == (
        "2.000", "25.0 %", 2, None)
    assert re.fullmatch(r"\d+ × \d+ × \d+", q["input"])


def test_a_chinese_sentence_broken_over_lines_is_joined_without_a_space():
    texts = {"en": "one\nline",
             "zh_CN": "把卷积核与它\n覆盖的图像块，\n**卷积**\nconv1 的\n\n下一段"}
    assert in_language(texts, "zh_CN") == "把卷积核与它覆盖的图像块，**卷积**\nconv1 的\n\n下一段"
    assert in_language(texts, "en") == "one\nline"  # Markdown's space is right there
    assert in_language({"en": "only English"}, "zh_CN") == "only English"
