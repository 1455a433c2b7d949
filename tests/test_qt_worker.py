"""The thread adapters: a generator's yields and a function's result arrive as signals in
the GUI thread, errors are reported, and the newest dataset request wins."""

from __future__ import annotations

import threading

from test_qt_support import tiny_dataset

from cnnviz.qt.dataset_loader import DataRequest, DatasetLoader
from cnnviz.qt.worker import GeneratorThread


def collect(qtbot, thread: GeneratorThread) -> dict[str, list]:
    got = {"yielded": [], "returned": [], "errored": [], "threads": set()}

    def keep(name):
        return lambda value: (got[name].append(value),
                              got["threads"].add(threading.current_thread().name))

    for name in ("yielded", "returned", "errored"):
        getattr(thread, name).connect(keep(name))
    with qtbot.waitSignal(thread.finished, timeout=5000):
        thread.start()
    assert thread.wait(5)
    return got


def test_a_generator_yields_in_its_thread_and_signals_arrive_in_the_gui_thread(qtbot):
    where = []

    def numbers():
        where.append(threading.current_thread().name)
        yield from range(3)

    got = collect(qtbot, GeneratorThread(numbers, "test"))
    assert got["yielded"] == [0, 1, 2] and got["returned"] == [None] and not got["errored"]
    assert where == ["cnnviz-test"] and got["threads"] == {threading.main_thread().name}


def test_a_function_returns_and_an_exception_is_reported(qtbot):
    assert collect(qtbot, GeneratorThread(lambda: 42, "test"))["returned"] == [42]

    def broken():
        raise ValueError("no such layer")

    got = collect(qtbot, GeneratorThread(broken, "test"))
    assert [str(e) for e in got["errored"]] == ["no such layer"] and not got["returned"]


def test_the_newest_dataset_request_wins(qtbot):
    gate = threading.Event()
    asked = []

    def load(name, **kwargs):
        asked.append(name)
        if name == "slow":
            gate.wait(5)
        return tiny_dataset()

    loader = DatasetLoader(load)
    loaded = []
    loader.loaded.connect(lambda req, dataset: loaded.append(req.name))
    loader.request(DataRequest("slow"))
    loader.request(DataRequest("other"))
    loader.request(DataRequest("newest"))
    assert loader.loading == DataRequest("newest")
    gate.set()
    qtbot.waitUntil(lambda: loaded == ["newest"], timeout=10_000)
    assert asked == ["slow", "newest"] and loader.loading is None
    assert loader.shutdown(5)
