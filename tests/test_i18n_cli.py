"""The command line in Simplified Chinese under LANG=zh_CN.UTF-8, argparse's own words
included, and in English, unchanged, under LANG=C: errors a user causes (an unknown
option, a missing file, a corrupt project, an unknown dataset), a command's --help and a
listing, with the same exit statuses in both languages."""

import argparse
import contextlib
import gettext
import inspect
import io
import json
import re
import socket
import subprocess
import sys
from dataclasses import replace

import pytest

from cnnviz import cli
from cnnviz.cli.parser import ARGPARSE_MESSAGES
from cnnviz.core import i18n
from cnnviz.data import standard
from cnnviz.i18n_tools.catalogues import read
from cnnviz.i18n_tools.extract import extract

MODULES = ("cnnviz/cli/", "cnnviz/io/", "cnnviz/data/")
PLACEHOLDER = re.compile(r"\{[^{}]*\}|%\(\w+\)[sr]|%[sr]")


@pytest.fixture(scope="module")
def english_left():
    """The English phrases of the CLI's, io's and data's messages (each message's text
    between its placeholders, two words or more) that their Chinese does not keep (as it
    keeps QuantizeLinear or a file name): none may show in Chinese output."""
    found, _ = extract()
    chinese = {e.msgid: e.msgstr for e in read("zh_CN") if e.msgid and not e.obsolete}
    phrases = set()
    for text in {f.text for f in found if f.module.startswith(MODULES)}:
        assert chinese.get(text), f"untranslated: {text!r}"
        for part in PLACEHOLDER.split(text):
            part = part.strip(" :;,.()\n")
            if len(re.findall(r"[A-Za-z]{2,}", part)) >= 2 and part not in chinese[text]:
                phrases.add(part)
    return phrases


def _main(environ, monkeypatch, *argv):
    """(exit status, stdout, stderr) of `cnnviz argv...` in-process, with the locale
    variables of `environ` (the others unset), English again after."""
    for name in ("LANGUAGE", "LC_ALL", "LC_MESSAGES", "LANG"):
        monkeypatch.delenv(name, raising=False)
    for name, value in environ.items():
        monkeypatch.setenv(name, value)
    out, err = io.StringIO(), io.StringIO()
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                code = cli.main([str(a) for a in argv])
            except SystemExit as exc:  # argparse's own errors and --help
                code = exc.code
    finally:
        i18n.install("en")
    return code, out.getvalue(), err.getvalue()


CHINESE = {"LANG": "zh_CN.UTF-8"}
ENGLISH = {"LANG": "C"}


def _no_english(text, phrases):
    left = sorted(p for p in phrases if p in text)
    assert left == [], (left, text)


def test_an_unknown_option_is_refused_in_chinese(monkeypatch, english_left):
    code, out, err = _main(CHINESE, monkeypatch, "presets", "--colour")
    assert code == 2 and out == ""
    assert err.startswith("用法：cnnviz [-h]")  # argparse: the top parser says it
    assert "cnnviz：错误：无法识别的参数：--colour" in err
    _no_english(err, english_left)
    assert "usage:" not in err and "error:" not in err


def test_an_invalid_choice_and_a_missing_argument_in_chinese(monkeypatch, english_left):
    code, _, err = _main(CHINESE, monkeypatch, "train", "--optimizer", "adamm")
    assert code == 2
    assert "错误：参数 --optimizer：无效的选择：'adamm'（可选：" in err
    code, _, err = _main(CHINESE, monkeypatch, "export", "model.cnnviz")
    assert code == 2 and "缺少以下必需参数：--out" in err
    _no_english(err, english_left)


def test_a_missing_and_a_corrupt_project_file_in_chinese(monkeypatch, tmp_path, english_left):
    code, out, err = _main(CHINESE, monkeypatch, "runs", tmp_path / "none.cnnviz")
    assert code == 2 and out == ""
    assert f"cnnviz runs：错误：{tmp_path / 'none.cnnviz'}：无法打开：" in err
    corrupt = tmp_path / "corrupt.cnnviz"
    corrupt.write_bytes(b"PK\x03\x04 not really a zip archive")
    code, out, err = _main(CHINESE, monkeypatch, "summary", corrupt)
    assert code == 2 and out == ""
    assert "cnnviz summary：错误：" in err and "不是 cnnviz 项目文件" in err
    assert "Traceback" not in err
    _no_english(err, english_left)


def test_an_unknown_dataset_in_chinese(monkeypatch, tmp_path, english_left):
    code, _, err = _main(CHINESE, monkeypatch, "train", "--dataset", "imagenet",
                         "--out", tmp_path / "x.cnnviz")
    assert code == 2
    assert "cnnviz train：错误：未知的数据集 'imagenet'（可用：shapes, " in err
    assert "folder:PATH 指定你自己的图像文件夹" in err
    _no_english(err, english_left)


def test_no_network_in_chinese(monkeypatch, tmp_path, english_left):
    with socket.socket() as s:  # a port nobody listens on once this closes
        s.bind(("127.0.0.1", 0))
        nobody = f"http://127.0.0.1:{s.getsockname()[1]}"
    monkeypatch.setenv("CNNVIZ_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setitem(standard.STANDARD, "mnist",
                        replace(standard.STANDARD["mnist"], mirrors=(nobody,)))
    code, _, err = _main(CHINESE, monkeypatch, "train", "--dataset", "mnist",
                         "--out", tmp_path / "x.cnnviz")
    assert code == 2
    assert "cnnviz train：错误：mnist：无法下载 train-images-idx3-ubyte.gz：" in err
    assert f"{nobody}/train-images-idx3-ubyte.gz：连接被拒绝" in err
    assert "要手动安装 mnist，请下载" in err and "命令行中为 --data-dir" in err
    _no_english(err, english_left)


def test_a_commands_help_in_chinese(monkeypatch, english_left):
    code, out, err = _main(CHINESE, monkeypatch, "prune", "--help")
    assert code == 0 and err == ""
    assert out.startswith("用法：cnnviz prune [-h]")
    for words in ("选项", "显示此帮助信息并退出", "已训练的 .cnnviz 项目",
                  "要移除的权重（或滤波器）比例", "将剪枝后的项目保存到此处（.cnnviz）"):
        assert words in out
    _no_english(out, english_left)
    code, out, _ = _main(CHINESE, monkeypatch, "--help")
    assert code == 0 and "对已训练项目的权重进行剪枝" in out and "位置参数" in out


def test_a_listing_in_chinese_and_its_json_keys_in_english(monkeypatch, english_left):
    code, out, err = _main(CHINESE, monkeypatch, "datasets")
    assert code == 0 and err == ""
    shapes = next(line for line in out.splitlines() if line.startswith("shapes "))
    assert "5 类" in shapes and "11,000 张图像" in shapes and "已内置" in shapes
    assert "生成的圆形、正方形、三角形、十字和线段" in shapes
    _no_english(out, english_left)
    code, out, _ = _main(CHINESE, monkeypatch, "datasets", "--json")
    first = json.loads(out.splitlines()[0])
    assert code == 0 and set(first) == {"event", "name", "description", "input_shape",
                                        "classes", "size", "builtin", "cached"}


def test_english_is_unchanged_under_the_c_locale(monkeypatch):
    code, _, err = _main(ENGLISH, monkeypatch, "presets", "--colour")
    assert code == 2
    assert err.startswith("usage: cnnviz [-h]")
    assert "cnnviz: error: unrecognized arguments: --colour" in err
    code, out, _ = _main(ENGLISH, monkeypatch, "prune", "--help")
    assert code == 0 and "options:" in out and "show this help message and exit" in out
    assert "fraction of weights (or filters) to remove, in [0, 1)" in out
    code, _, err = _main(ENGLISH, monkeypatch, "runs", "none.cnnviz")
    assert code == 2 and "cnnviz runs: error: none.cnnviz: cannot open it: " in err
    code, out, _ = _main(ENGLISH, monkeypatch, "datasets")
    assert code == 0 and re.search(r"^shapes +28x28x1 +5 classes +11,000 images  built-in  "
                                   r"Generated circles", out, re.M)


def test_the_command_follows_lang_when_language_is_unset(tmp_path):
    """As a user runs it: a process of its own, LANGUAGE removed, LANG=zh_CN.UTF-8."""
    command = [sys.executable, "-c", "import sys; from cnnviz.cli import main; sys.exit(main())",
               "summary", "--preset", "nope"]
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "LANG": "zh_CN.UTF-8"}
    run = subprocess.run(command, capture_output=True, text=True, env=env, timeout=120)
    assert run.returncode == 2
    assert "错误：参数 --preset：无效的选择：'nope'" in run.stderr
    env["LANG"] = "C"
    run = subprocess.run(command, capture_output=True, text=True, env=env, timeout=120)
    assert run.returncode == 2 and "error: argument --preset: invalid choice: 'nope'" in run.stderr


def test_argparse_still_words_the_messages_translated_for_it():
    """A Python whose argparse rewords a message would show it in English: caught here."""
    source = inspect.getsource(argparse)
    for message in ARGPARSE_MESSAGES:
        assert repr(message) in source or json.dumps(message) in source, message


def test_argparse_translations_keep_their_placeholders_and_argparse_is_left_as_it_was():
    i18n.install("zh_CN")
    try:
        for message in ARGPARSE_MESSAGES:
            chinese = i18n.translate(message)
            assert chinese != message
            assert (sorted(re.findall(r"%\(\w+\)[sr]|%[sr]", chinese))
                    == sorted(re.findall(r"%\(\w+\)[sr]|%[sr]", message)))
        parser = cli.build_parser()
        assert "用法" in parser.format_usage()
    finally:
        i18n.install("en")
    assert argparse._ is gettext.gettext and argparse.ngettext is gettext.ngettext
    assert "usage: cnnviz" in parser.format_usage()  # it follows the language of the moment
