"""core.i18n and core.po: messages rendered in the language installed, messages that keep
their id and values until shown, which language the environment asks for, and the PO
catalogues read and written."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cnnviz.core import i18n, po
from cnnviz.core.i18n import Message, message_of, tr

# A message of the window that the Chinese catalogue translates (the language menu's).
TRANSLATED = "Stop training to change the language"


@pytest.fixture(autouse=True)
def english_afterwards():
    yield
    i18n.install("en")


def test_english_is_the_text_itself_with_its_values_filled_in():
    assert tr("Text size {percent} %", percent=120) == "Text size 120 %"
    assert tr("{n:,} images", n=12000) == "12,000 images"
    assert tr("no {braces} without values") == "no {braces} without values"


def test_chinese_comes_from_the_catalogue_and_english_stays_for_the_rest():
    i18n.install("zh_CN")
    assert i18n.language() == "zh_CN"
    assert tr(TRANSLATED) == "请先停止训练，再切换语言"
    assert tr("a message no catalogue has") == "a message no catalogue has"
    i18n.install("en")
    assert tr(TRANSLATED) == TRANSLATED


def test_a_message_keeps_its_id_and_renders_in_the_language_of_the_moment():
    message = Message(TRANSLATED)
    error = ValueError(message)
    assert str(error) == TRANSLATED
    i18n.install("zh_CN")
    assert str(error) == "请先停止训练，再切换语言"  # made before, shown now: Chinese
    assert message_of(error) == Message(TRANSLATED) and message_of(ValueError("x")) is None


def test_a_message_among_the_values_is_rendered_too():
    outer = Message("{lesson}: step {number}", lesson="01-convolution", number=3)
    assert tr("{where}: {reason}", where=outer, reason=Message("a name")) == (
        "01-convolution: step 3: a name")
    assert f"{Message('a name'):>8}" == "  a name"


def test_a_translation_that_breaks_its_placeholders_is_not_used(tmp_path, monkeypatch):
    entries = [po.header("zh_CN"), po.Entry("{count} layers", "{数量} 层"),
               po.Entry("{count} filters", "{count} 个滤波器"),
               po.Entry("Pause", "暂停", flags=["fuzzy"]), po.Entry("Stop", "")]
    (tmp_path / "zh_CN.po").write_text(po.dump(entries), encoding="utf-8")
    monkeypatch.setattr(i18n, "LOCALE_DIR", tmp_path)
    assert i18n.load_catalogue("zh_CN") == {"{count} filters": "{count} 个滤波器"}
    i18n.install("zh_CN")
    assert tr("{count} layers", count=3) == "3 layers"
    assert tr("Pause") == "Pause" and tr("Stop") == "Stop"  # fuzzy and empty: English


def test_a_catalogue_that_cannot_be_read_leaves_english(tmp_path, monkeypatch):
    (tmp_path / "zh_CN.po").write_text('msgid "a"\nmsgstr "b" junk\n', encoding="utf-8")
    monkeypatch.setattr(i18n, "LOCALE_DIR", tmp_path)
    with pytest.raises(po.PoError, match="zh_CN.po:2"):
        i18n.install("zh_CN")
    assert i18n.install_or_english("zh_CN") == "en" == i18n.language()
    with pytest.raises(ValueError, match="unknown language"):
        i18n.install("fr")


@pytest.mark.parametrize(("environ", "expected"), [
    ({"LANG": "zh_CN.UTF-8"}, "zh_CN"),
    ({"LANG": "zh_SG.UTF-8"}, "zh_CN"),
    ({"LANG": "zh_TW.UTF-8"}, "en"),  # Traditional characters are not shipped
    ({"LANG": "en_US.UTF-8", "LC_MESSAGES": "zh_CN.UTF-8"}, "zh_CN"),
    ({"LANG": "zh_CN.UTF-8", "LC_ALL": "C"}, "en"),
    ({"LANG": "de_DE.UTF-8", "LANGUAGE": "fr:zh_CN:en"}, "zh_CN"),
    ({"LANG": "C.UTF-8", "LANGUAGE": "zh_CN"}, "en"),  # as gettext: LANGUAGE needs a locale
    ({"LANGUAGE": "zh_TW:zh_CN"}, "zh_CN"),
    ({}, "en"),
    ({"LANG": "de_DE.UTF-8"}, "en"),
])
def test_the_cli_follows_the_locale_variables_as_gettext_does(environ, expected):
    assert i18n.system_language(environ) == expected


@pytest.mark.parametrize(("tags", "expected"), [
    (["zh-Hans-CN", "zh-CN", "en-US"], "zh_CN"), (["zh-Hant-TW", "en"], "en"),
    (["en-GB", "zh-CN"], "en"), (["ja-JP"], "en"), ([], "en")])
def test_qlocale_style_language_tags_are_understood(tags, expected):
    assert i18n.best_language(tags) == expected


# -- the PO format ------------------------------------------------------------------------
SAMPLE = r'''# a translator's note
msgid ""
msgstr ""
"Language: zh_CN\n"

#: cnnviz/qt/app.py cnnviz/cli/train.py
#, fuzzy, python-brace-format
msgid "saved {path}"
msgstr "已保存 {path}"

msgid ""
"a long message split "
"over lines with \"quotes\"\n"
msgstr "一条\t长消息"

#~ msgid "gone"
#~ msgstr "已删除"
'''


def test_a_catalogue_is_read_with_its_flags_references_and_obsolete_entries():
    header, saved, long, gone = po.parse(SAMPLE)
    assert header.msgid == "" and header.msgstr == "Language: zh_CN\n"
    assert header.comments == ["a translator's note"]
    assert saved.references == ["cnnviz/qt/app.py", "cnnviz/cli/train.py"]
    assert saved.fuzzy and not saved.translated
    assert long.msgid == 'a long message split over lines with "quotes"\n'
    assert long.msgstr == "一条\t长消息" and long.translated
    assert gone.obsolete and gone.msgstr == "已删除" and not gone.translated
    assert po.parse(po.dump([header, saved, long, gone])) == [header, saved, long, gone]


@pytest.mark.parametrize(("text", "error"), [
    ('msgid "a"\n', "has no msgstr"),
    ('msgstr "a"\n', "msgstr without a msgid"),
    ('msgid "a"\nmsgstr "b\n', "quoted string"),
    ('msgid "a\\q"\nmsgstr "b"\n', "unknown escape"),
    ('msgctxt "menu"\nmsgid "a"\nmsgstr "b"\n', "context and plural forms"),
    ('msgid "a"\nmsgstr "b"\nmsgid "a"\nmsgstr "c"\n', "appears twice"),
    ('"loose"\n', "outside any entry"),
])
def test_a_broken_catalogue_says_where(text, error):
    with pytest.raises(po.PoError, match=error):
        po.parse(text, "zh_CN.po")


entries = st.lists(st.builds(
    po.Entry, st.text(min_size=1), st.text(),
    flags=st.lists(st.sampled_from(["fuzzy", "python-brace-format"]), unique=True),
    references=st.lists(st.from_regex(r"[a-z/_.]{1,30}", fullmatch=True), max_size=3),
    comments=st.lists(st.from_regex(r"[^\n\r]*[^\s]", fullmatch=True), max_size=2)),
    unique_by=lambda e: e.msgid, max_size=6)


@settings(max_examples=150, deadline=None)
@given(entries)
def test_what_is_written_reads_back_the_same(items):
    assert po.parse(po.dump(items)) == items


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.sampled_from(list('msgidtr "\\#~:,.\nnx中')), max_size=120))
def test_any_text_parses_or_fails_with_a_po_error(text):
    with contextlib.suppress(po.PoError):
        po.parse(text)
