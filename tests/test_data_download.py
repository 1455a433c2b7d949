"""Downloads and the cache, against a local HTTP server on 127.0.0.1 (nothing else)."""

import gzip
import hashlib
import socket
import threading
from dataclasses import replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import numpy as np
import pytest
from test_data_formats import idx_bytes

from cnnviz.data import download, standard
from cnnviz.data.cache import cache_root, dataset_cache_dir
from cnnviz.data.dataset import DatasetError
from cnnviz.data.download import RemoteFile
from cnnviz.data.registry import DATASETS, load_dataset


class _Handler(BaseHTTPRequestHandler):
    """Serves `files` by path; paths under /drop/ send half the body, then hang up."""

    files: dict[str, bytes] = {}
    requests: list[str] = []

    def do_GET(self):  # noqa: N802 (http.server's naming)
        self.requests.append(self.path)
        body = self.files.get(self.path.removeprefix("/drop"))
        if body is None:
            self.send_error(404)
            return
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body[: len(body) // 2] if self.path.startswith("/drop/") else body)
        self.close_connection = True

    def log_message(self, *args):
        pass


@pytest.fixture
def server(monkeypatch):
    monkeypatch.setattr(download, "TIMEOUT_S", 5.0)
    handler = type("Handler", (_Handler,), {"files": {}, "requests": []})
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05},
                              daemon=True)
    thread.start()
    yield handler, f"http://127.0.0.1:{httpd.server_port}"
    httpd.shutdown()
    httpd.server_close()
    thread.join(5)


@pytest.fixture(autouse=True)
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("CNNVIZ_CACHE_DIR", str(tmp_path / "cache"))
    return tmp_path / "cache"


def _remote(name: str, data: bytes) -> RemoteFile:
    return RemoteFile(name, len(data), hashlib.sha256(data).hexdigest())


def _no_server_url() -> str:
    with socket.socket() as s:  # a port nobody listens on once this closes
        s.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{s.getsockname()[1]}"


def test_good_download_lands_in_place_with_progress(server, tmp_path):
    handler, url = server
    data = bytes(range(256)) * 4000  # about 1 MB, several chunks
    handler.files["/f.bin"] = data
    calls = []
    path = download.download(_remote("f.bin", data), [url], tmp_path / "d",
                             lambda *a: calls.append(a))
    assert path == tmp_path / "d" / "f.bin" and path.read_bytes() == data
    assert calls[-1][:2] == (len(data), len(data)) and "127.0.0.1" in calls[-1][2]
    assert [p.name for p in (tmp_path / "d").iterdir()] == ["f.bin"]


@pytest.mark.parametrize("case, reason", [
    ("checksum", "sha256 .* is not the published"),
    ("size", "more than the expected"),
    ("dropped", "connection closed after 50000 of 100000 bytes"),
    ("missing", "HTTP Error 404"),
    ("no server", "Connection refused"),
])
def test_failures_leave_nothing_behind(server, tmp_path, case, reason):
    handler, url = server
    data = b"x" * 100_000
    handler.files["/f.bin"] = data
    remote = _remote("f.bin", data)
    if case == "checksum":
        remote = replace(remote, sha256="0" * 64)
    elif case == "size":
        remote = replace(remote, size=10)
    elif case == "dropped":
        url += "/drop"
    elif case == "missing":
        remote = replace(remote, name="other.bin")
    else:
        url = _no_server_url()
    with pytest.raises(DatasetError, match=f"could not download {remote.name}:\n.*{reason}"):
        download.download(remote, [url], tmp_path / "d")
    assert list((tmp_path / "d").iterdir()) == []


def test_next_mirror_after_a_bad_one(server, tmp_path):
    handler, url = server
    handler.files["/good/f.bin"] = b"data"
    path = download.download(_remote("f.bin", b"data"), [f"{url}/bad", f"{url}/good"],
                             tmp_path)
    assert path.read_bytes() == b"data"
    assert handler.requests == ["/bad/f.bin", "/good/f.bin"]


@pytest.fixture
def tiny_mnist(server, monkeypatch):
    """`mnist` made of 30 + 10 tiny images served by the local server."""
    handler, url = server
    rng = np.random.default_rng(0)
    arrays = [rng.integers(0, 256, (30, 6, 6), dtype=np.uint8), np.arange(30) % 10,
              rng.integers(0, 256, (10, 6, 6), dtype=np.uint8), np.arange(10)]
    files = []
    for file, array in zip(standard.STANDARD["mnist"].files, arrays, strict=True):
        data = gzip.compress(idx_bytes(array.astype(np.uint8)))
        handler.files[f"/{file.name}"] = data
        files.append(_remote(file.name, data))
    spec = replace(standard.STANDARD["mnist"], input_shape=(6, 6, 1), size=40,
                   files=tuple(files), mirrors=(url,))
    monkeypatch.setitem(standard.STANDARD, "mnist", spec)
    return handler, arrays


def test_standard_dataset_downloads_once(tiny_mnist, cache):
    handler, arrays = tiny_mnist
    info = DATASETS["mnist"].info
    assert not info.cached()
    dataset = load_dataset("mnist", validation_fraction=0.2)
    assert len(handler.requests) == 4 and info.cached()
    assert sorted(p.name for p in dataset_cache_dir("mnist").iterdir()) == sorted(
        f.name for f in standard.STANDARD["mnist"].files)
    assert (len(dataset.x_train), len(dataset.x_val), len(dataset.x_test)) == (20, 10, 10)
    np.testing.assert_array_equal(dataset.x_test[..., 0], arrays[2])
    again = load_dataset("mnist", validation_fraction=0.2)
    assert len(handler.requests) == 4
    np.testing.assert_array_equal(again.x_train, dataset.x_train)


def test_offline_says_which_files_to_put_where(tiny_mnist, monkeypatch):
    spec = replace(standard.STANDARD["mnist"], mirrors=(_no_server_url(),))
    monkeypatch.setitem(standard.STANDARD, "mnist", spec)
    with pytest.raises(DatasetError) as error:
        load_dataset("mnist")
    message = str(error.value)
    assert "could not download train-images-idx3-ubyte.gz" in message
    assert "t10k-labels-idx1-ubyte.gz" in message and str(dataset_cache_dir("mnist")) in message
    assert "--data-dir" in message
    assert not any(dataset_cache_dir("mnist").iterdir())


def test_data_dir_is_used_and_never_downloaded_into(tiny_mnist, tmp_path):
    handler, arrays = tiny_mnist
    folder = tmp_path / "mine"
    folder.mkdir()
    with pytest.raises(DatasetError, match=f"not found in {folder}"):
        load_dataset("mnist", data_dir=folder)
    assert handler.requests == [] and list(folder.iterdir()) == []
    # Unpacked files are fine too.
    for file, array in zip(standard.STANDARD["mnist"].files, arrays, strict=True):
        (folder / file.name.removesuffix(".gz")).write_bytes(idx_bytes(array.astype(np.uint8)))
    assert DATASETS["mnist"].info.cached(folder)
    assert len(load_dataset("mnist", data_dir=folder).x_test) == 10
    assert handler.requests == []


def test_cache_location(monkeypatch, tmp_path):
    monkeypatch.delenv("CNNVIZ_CACHE_DIR")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert cache_root() == tmp_path / "cnnviz" / "datasets"
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    expected = tmp_path / "home" / ".cache" / "cnnviz" / "datasets" / "mnist"
    assert dataset_cache_dir("mnist") == expected


def test_cancelled_download_leaves_nothing(server, tmp_path):
    # The GUI cancels a download by raising from the progress callback.
    handler, url = server
    data = b"y" * 1_000_000
    handler.files["/f.bin"] = data

    def cancel(done, total, message):
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        download.download(_remote("f.bin", data), [url], tmp_path, cancel)
    assert list(tmp_path.iterdir()) == []
