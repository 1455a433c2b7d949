"""The message extractor, the catalogues it keeps, and whether the Chinese one is complete;
the glossary of technical terms."""

from __future__ import annotations

import pytest

from cnnviz.core import glossary, i18n, po
from cnnviz.core.glossary import FirstMention
from cnnviz.i18n_tools.catalogues import counts, merged, read
from cnnviz.i18n_tools.extract import Found, calls_in, extract

# Modules whose every message is translated; each module converted joins the list, and
# once all are, the whole catalogue's test below no longer skips.
DONE = ("cnnviz/core/lessons.py", "cnnviz/core/lesson_vocabulary.py",
        *(f"cnnviz/core/{name}.py" for name in (
            "compression", "compression_record", "config", "divergence", "early_stopping",
            "examples", "files", "fine_tune", "formulas", "history", "inspection",
            "json_text", "layers", "memory", "network", "optimizer_leaves", "presets",
            "progress", "quantization",
            "runs", "schedules", "shapes", "summary")),
        *(f"cnnviz/{name}.py" for name in (
            "cli/__init__", "cli/common", "cli/compress", "cli/exchange", "cli/explain",
            "cli/from_trained", "cli/info", "cli/parser", "cli/runs", "cli/train",
            "data/cifar", "data/dataset", "data/digits", "data/download", "data/folder",
            "data/idx", "data/per_class", "data/registry", "data/shapes", "data/standard",
            "io/archive", "io/atomic", "io/compression", "io/export/bundle",
            "io/imports/__init__", "io/imports/app_export", "io/imports/keras_config",
            "io/imports/keras_file", "io/imports/onnx_file", "io/imports/result",
            "io/optimizer_member", "io/project", "io/replay", "io/trained", "io/weights")),
        "cnnviz/qt/language.py", "cnnviz/qt/lessons.py", "cnnviz/qt/lesson_host.py",
        *(f"cnnviz/qt/{name}.py" for name in (
            "actions", "app", "dialogs", "error_dialog", "examples", "export_dialog",
            "file_commands", "fine_tune_dialog", "import_command", "live_model", "live_views",
            "main_window", "network_model", "presentation", "project_file", "session",
            "step_controller", "step_model", "step_through", "theme", "worker")),
        "cnnviz/qt/lesson_parts.py", "cnnviz/qt/widgets/lessons.py",
        "cnnviz/qt/widgets/compress.py", "cnnviz/qt/widgets/compress_controls.py",
        "cnnviz/qt/widgets/compress_model.py", "cnnviz/qt/widgets/compress_plots.py",
        "cnnviz/qt/widgets/compress_tables.py", "cnnviz/qt/widgets/confusion.py",
        "cnnviz/qt/widgets/draw_canvas.py", "cnnviz/qt/widgets/feature_maps.py",
        "cnnviz/qt/widgets/filters.py", "cnnviz/qt/widgets/predictions.py",
        "cnnviz/qt/widgets/replay.py", "cnnviz/qt/widgets/weight_stats.py",
        "cnnviz/qt/widgets/step_through/backward.py",
        "cnnviz/qt/widgets/step_through/batch_norm.py",
        "cnnviz/qt/widgets/step_through/cells.py", "cnnviz/qt/widgets/step_through/chain.py",
        "cnnviz/qt/widgets/step_through/conv.py", "cnnviz/qt/widgets/step_through/dense.py",
        "cnnviz/qt/widgets/step_through/entry.py",
        "cnnviz/qt/widgets/step_through/flatten.py",
        "cnnviz/qt/widgets/step_through/input_page.py",
        "cnnviz/qt/widgets/step_through/looks.py", "cnnviz/qt/widgets/step_through/pool.py",
        "cnnviz/qt/widgets/step_through/softmax.py",
        "cnnviz/qt/widgets/step_through/view.py",
        *(f"cnnviz/qt/widgets/{name}.py" for name in (
            "builder", "curves", "data_picker", "layer_editor", "layer_help", "layer_palette",
            "layer_table", "probe_bar", "rate_curve", "run_curves", "run_table", "runs",
            "training_options",
            "training_panel")))


def found(source: str) -> tuple[list[str], list[str]]:
    results = list(calls_in(source, "m.py"))
    return [f.text for f, _ in results if f], [p for _, p in results if p]


def test_the_extractor_finds_tr_and_message_calls_as_python_reads_them():
    texts, problems = found(
        'tr("Save")\n'
        'i18n.tr("a long message "\n    "on two lines")\n'
        'raise ValueError(Message("{n} layers", n=3))\n'
        '# tr("in a comment")\n'
        'print("tr(\\"in a string\\")")\n'
        'tr("{a} and {b}", **values)\n'
        'other("not a message")\n'
        'TITLES = (marked("Feature maps"),)\n')
    assert texts == ["Save", "a long message on two lines", "{n} layers", "{a} and {b}",
                     "Feature maps"]
    assert problems == []


@pytest.mark.parametrize(("source", "problem"), [
    ('tr(f"{n} layers")', "f-string"),
    ("tr(text)", "not a string literal"),
    ('self.tr("Save")', "Qt's tr()"),
    ('tr("{n} layers")', "placeholders without values: n"),
    ('tr("layers", n=3)', "values without placeholders: n"),
    ('tr("{n layers", n=3)', "unmatched braces"),
    ("tr()", "no text"),
])
def test_an_untranslatable_call_is_reported_with_its_line(source, problem):
    texts, problems = found("\n" + source)
    assert texts == [] and len(problems) == 1
    assert problems[0].startswith("m.py:2:") and problem in problems[0]


def test_no_message_in_the_code_is_an_f_string_or_qts_own_tr():
    _, problems = extract()
    assert [p for p in problems if "f-string" in p or "Qt's" in p] == []


def test_merging_keeps_translations_and_sets_aside_what_the_code_dropped():
    before = [po.header("zh_CN"), po.Entry("Save", "保存", references=["old.py"]),
              po.Entry("Gone", "已删除"), po.Entry("Untranslated and gone", "")]
    code = [Found("Open", "a.py", 1), Found("Save", "a.py", 5), Found("Save", "b.py", 2)]
    after = merged(before, code, "zh_CN")
    assert [e.msgid for e in after] == ["", "Open", "Save", "Gone"]
    assert after[2].msgstr == "保存" and after[2].references == ["a.py", "b.py"]
    assert after[3].obsolete and after[3].msgstr == "已删除"
    state = counts(after)
    assert state.messages == 2 and state.missing == ["Open"]
    # a message the code brings back takes its translation back
    again = merged(after, [Found("Gone", "a.py", 1)], "zh_CN")
    assert again[1].msgid == "Gone" and again[1].translated


def test_every_translation_keeps_its_placeholders():
    broken = [e.msgid for e in read("zh_CN") if e.msgid and e.msgstr
              and i18n.placeholders(e.msgid) != i18n.placeholders(e.msgstr)]
    assert broken == []


def test_the_modules_done_are_translated_completely():
    code, _ = extract()
    catalogue = {e.msgid: e for e in read("zh_CN") if not e.obsolete}
    missing = sorted({f"{f.module}: {f.text}" for f in code if f.module in DONE and not (
        f.text in catalogue and catalogue[f.text].translated)})
    assert missing == []
    assert {f.module for f in code} >= set(DONE)  # each still has messages to check


def test_the_chinese_catalogue_is_current_and_complete():
    """Every message in the code has a finished Chinese translation. Skipped, with what is
    left, until every module is converted; then this is the test that keeps it so."""
    code, problems = extract()
    catalogue = {e.msgid: e for e in read("zh_CN") if not e.obsolete}
    absent = sorted({f.text for f in code if f.text not in catalogue})
    unfinished = sorted({f.text for f in code if f.text in catalogue
                         and not catalogue[f.text].translated})
    if absent or unfinished or problems:
        pytest.skip(f"{len(absent)} messages not in zh_CN.po (run python -m "
                    f"cnnviz.i18n_tools), {len(unfinished)} not translated yet, "
                    f"{len(problems)} calls that cannot be extracted")


def test_a_marked_key_is_translated_where_it_is_shown():
    key = i18n.marked("Lessons")
    assert key == "Lessons"
    i18n.install("zh_CN")
    try:
        assert i18n.translate(key) == i18n.tr("Lessons") == "课程"
        assert i18n.translate("no such message") == "no such message"
    finally:
        i18n.install("en")
    assert i18n.translate(key) == key


def test_the_glossary_introduces_a_term_in_both_languages_once():
    assert "convolution" in glossary.terms()
    assert all(glossary.term(t, "zh_CN") != t for t in glossary.terms())  # all translated
    i18n.install("zh_CN")
    try:
        first = FirstMention()
        assert first("convolution") == "卷积 convolution"
        assert first("convolution") == "卷积"
        assert first("feature map") == "特征图 feature map"
        assert first("softmax") == "Softmax"  # the same word: said once
        assert FirstMention()("convolution") == "卷积 convolution"  # a new text, anew
    finally:
        i18n.install("en")
    assert FirstMention()("convolution") == "convolution"
    with pytest.raises(KeyError):
        glossary.term("convolutoin")
