"""Writing an export: a folder or a zip of it, written whole or not at all; an earlier
export is replaced, anything else the user has is left alone."""

from __future__ import annotations

import errno
import zipfile

import pytest
from test_export_support import NETWORKS, trained

from cnnviz.io.export import ExportError, bundle, export_files, export_model


@pytest.fixture(scope="module")
def files():
    return export_files(trained(NETWORKS["tiny"]), ["npz", "onnx"], "tiny")


def _leftovers(folder):
    return sorted(p.name for p in folder.iterdir() if p.name.startswith("."))


def test_a_folder_export_holds_every_file(files, tmp_path):
    out = bundle.write_export(files, tmp_path / "tiny-export")
    assert sorted(p.name for p in out.iterdir()) == sorted(files)
    assert (out / "model.onnx").read_bytes() == files["model.onnx"]
    assert _leftovers(tmp_path) == []


def test_a_zip_export_holds_the_folder(files, tmp_path):
    out = bundle.write_export(files, tmp_path / "tiny-export.zip")
    with zipfile.ZipFile(out) as zf:
        assert sorted(zf.namelist()) == sorted(f"tiny-export/{name}" for name in files)
        assert zf.read("tiny-export/manifest.json") == files["manifest.json"]
    assert _leftovers(tmp_path) == []


def test_an_earlier_export_is_replaced(files, tmp_path):
    out = tmp_path / "again"
    export_model(trained(NETWORKS["tiny"]), ["npz", "onnx", "jax"], out)
    bundle.write_export(files, out)
    assert sorted(p.name for p in out.iterdir()) == sorted(files)  # model_jax.py is gone
    assert _leftovers(tmp_path) == []


def test_a_folder_with_other_files_is_never_replaced(files, tmp_path):
    out = tmp_path / "photos"
    out.mkdir()
    (out / "holiday.jpg").write_bytes(b"mine")
    with pytest.raises(ExportError, match="already exists and is not an earlier export"):
        bundle.write_export(files, out)
    assert [p.name for p in out.iterdir()] == ["holiday.jpg"]
    assert _leftovers(tmp_path) == []


@pytest.mark.parametrize("name", ["missing/folder/out", "missing/out.zip"])
def test_a_destination_that_cannot_be_written_is_one_clear_error(files, tmp_path, name):
    with pytest.raises(ExportError, match="no such folder"):
        bundle.write_export(files, tmp_path / name)
    assert list(tmp_path.iterdir()) == []


def test_a_zip_path_that_is_a_folder_is_refused(files, tmp_path):
    (tmp_path / "odd.zip").mkdir()
    with pytest.raises(ExportError, match="is a folder"):
        bundle.write_export(files, tmp_path / "odd.zip")


@pytest.mark.parametrize("name", ["export", "export.zip"])
def test_a_failure_while_writing_leaves_nothing_and_keeps_the_earlier_export(
        files, tmp_path, monkeypatch, name):
    out = tmp_path / name
    bundle.write_export(files, out)
    before = out.read_bytes() if out.is_file() else (out / "model.onnx").read_bytes()

    def full_disk(fd):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr("os.fsync", full_disk)
    with pytest.raises(ExportError, match="cannot write .*No space left on device"):
        bundle.write_export(export_files(trained(NETWORKS["tiny"], seed=9), ["onnx"]), out)
    after = out.read_bytes() if out.is_file() else (out / "model.onnx").read_bytes()
    assert after == before
    assert _leftovers(tmp_path) == []
