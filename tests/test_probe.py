"""The live views' data: mosaics, the engine probe, the trainer's view snapshots, replay.

Every check compares with an independent computation: the documented normalisation
written out again here, the engine's plain apply_with_activations, numpy loops.
"""

import cnnviz.engine  # noqa: F401, I001  (first: sets XLA's flags before JAX starts)

import gc

import jax
import numpy as np
import pytest
import reference

from cnnviz.core.commands import SetProbe, SetReplay
from cnnviz.core.config import TrainConfig
from cnnviz.core.layers import Conv2D, Dense, Flatten, MaxPool2D
from cnnviz.core.mosaic import GAP, LEVELS, Mosaic, kernel_mosaic, tile, to_uint8
from cnnviz.core.network import NetworkSpec
from cnnviz.core.replay import Frame, Replay
from cnnviz.core.snapshot import FINISHED, RUNNING, ProbeImage
from cnnviz.engine.model import apply_with_activations, to_float
from cnnviz.engine.probe import Prober
from cnnviz.engine.trainer import Trainer
from cnnviz.io.replay import ReplayError, load_replay, replay_bytes

# conv, pool, flatten and dense: every kind of output a view draws, quick to compile
SPEC = NetworkSpec((12, 12, 1), (Conv2D(4, 3), MaxPool2D(2), Flatten(), Dense(8),
                                 Dense(5, "none")))


@pytest.fixture(autouse=True)
def qt_garbage_dies_in_this_thread():
    """Collect the previous test's reference cycles here, in the GUI thread: left for
    later, Python's collector could run in a thread this test starts (JAX compiles in
    one) and delete Qt objects there while the GUI thread paints them."""
    gc.collect()


@pytest.fixture(scope="module")
def data():
    return reference.subset(reference.shapes_dataset(), 96, 40, 30, crop=12)


def normalised(values, lo, hi):
    """The documented formula, written out independently of core.mosaic."""
    span = hi - lo if hi > lo else np.inf
    return np.clip(np.rint((values.astype(np.float64) - lo) / span * 254), 0, 254)


def tiles_of(mosaic: Mosaic) -> list[np.ndarray]:
    return [mosaic.tile_image(i) for i in range(mosaic.count)]


def run_with_probe(data, epochs=2, **kwargs):
    """Train SPEC with a probe set; (snapshots with views, the params at each of them)."""
    trainer = Trainer(SPEC, data, TrainConfig(batch_size=16, epochs=epochs), **kwargs)
    trainer.command(SetProbe(ProbeImage(data.x_test[3], int(data.y_test[3]), "test 3")))
    snaps, params = [], []
    for snap in trainer.run():
        if snap.views is not None:
            snaps.append(snap)
            params.append(trainer.numpy_params())  # the generator waits: these are its params
    return trainer, snaps, params


@pytest.fixture(scope="module")
def run(data):
    return run_with_probe(data)


# -- core.mosaic ------------------------------------------------------------------------


def test_to_uint8_is_the_documented_formula():
    x = np.linspace(-3, 5, 101, dtype=np.float32)
    assert np.array_equal(to_uint8(x, -1.0, 2.0), normalised(x, -1.0, 2.0))
    assert to_uint8(np.full(4, 7.0), 7.0, 7.0).tolist() == [0, 0, 0, 0]  # constant: 0
    per_channel = to_uint8(np.array([[0.0, 10.0], [1.0, 20.0]]), np.array([0.0, 10.0]),
                           np.array([1.0, 20.0]))
    assert per_channel.tolist() == [[0, 0], [LEVELS, LEVELS]]


def test_tile_places_every_tile_and_finds_it_again():
    tiles = np.arange(7 * 3 * 2, dtype=np.uint8).reshape(7, 3, 2)
    m = tile(tiles, cols=3)
    assert m.grid == (3, 3) and m.image.shape == (3 * 4 - 1, 3 * 3 - 1)
    for i in range(7):
        y, x = m.origin(i)
        assert np.array_equal(m.image[y:y + 3, x:x + 2], tiles[i])
        for dy in range(3):
            for dx in range(2):
                assert m.cell_at(y + dy + 0.5, x + dx + 0.5) == (i, dy, dx)
    assert m.cell_at(3, 0) is None  # a gap line
    assert m.cell_at(*m.origin(7)) is None  # the unused cells of the last row
    assert (m.image[:, 2] == GAP).all() and (m.image[3] == GAP).all()


def test_kernel_mosaic_rows_are_filters_columns_input_channels():
    kernel = np.random.default_rng(0).normal(size=(3, 3, 2, 4)).astype(np.float32)
    m = kernel_mosaic(kernel, 2.0, rgb=False)
    assert m.grid == (4, 2)
    for f in range(4):
        for c in range(2):
            assert np.array_equal(m.tile_image(f * 2 + c),
                                  normalised(kernel[:, :, c, f], -2.0, 2.0))
    rgb = kernel_mosaic(kernel[:, :, :1].repeat(3, axis=2), 2.0, rgb=True)
    assert rgb.count == 4 and rgb.image.shape[-1] == 3
    assert np.array_equal(rgb.tile_image(1), normalised(kernel[:, :, 0, 1], -2, 2)[..., None]
                          .repeat(3, axis=2))


# -- engine.probe ---------------------------------------------------------------------------


def test_probe_maps_equal_the_engine_activations(data):
    params = reference.random_weights(SPEC, seed=1)
    image = data.x_test[0]
    prober = Prober(SPEC, data)
    result = prober.fetch(prober.request(params, ProbeImage(image, 0, "x"), 0, 0, []))[0]
    logits, acts = apply_with_activations(SPEC, params, to_float(image[None]))
    np.testing.assert_allclose(result.probabilities, jax.nn.softmax(logits[0]), rtol=1e-5)
    for maps, act in zip(result.layers, acts, strict=True):
        values = np.asarray(act[0])
        np.testing.assert_allclose(maps.values, values, rtol=1e-5, atol=1e-6)
        lo, hi = values.min(), values.max()
        if values.ndim == 3:  # conv, pool: one tile per channel
            for c, (shared, own) in enumerate(zip(tiles_of(maps.shared),
                                                  tiles_of(maps.per_channel), strict=True)):
                ch = values[..., c]
                assert np.abs(shared - normalised(ch, lo, hi)).max() <= 1
                assert np.abs(own - normalised(ch, ch.min(), ch.max())).max() <= 1
        else:  # flatten, dense: a strip of one-pixel cells
            strip = np.array([t[0, 0] for t in tiles_of(maps.shared)])
            assert np.abs(strip - normalised(values, lo, hi)).max() <= 1


def test_confusion_counts_and_cells_match_numpy(data):
    params = reference.random_weights(SPEC, seed=2)
    loss, acc, confusion = Prober(SPEC, data).evaluate(params)
    logits = np.asarray(jax.jit(lambda p, x: apply_with_activations(SPEC, p, to_float(x))[0])(
        params, data.x_val))
    predicted = logits.argmax(-1)
    counts = np.zeros((5, 5), int)
    for t, p in zip(data.y_val, predicted, strict=True):
        counts[t, p] += 1
    assert np.array_equal(confusion.counts, counts)
    assert acc == pytest.approx(np.trace(counts) / len(data.y_val))
    assert loss == pytest.approx(reference.cross_entropy(logits, data.y_val).mean(), rel=1e-4)
    for t in range(5):
        for p in range(5):
            expected = [i for i in range(len(data.y_val))
                        if data.y_val[i] == t and predicted[i] == p]
            assert confusion.members(t, p).tolist() == expected


# -- the trainer's view snapshots ---------------------------------------------------------------


def test_no_probe_no_view_data(data):
    trainer = Trainer(SPEC, data, TrainConfig(batch_size=16, epochs=1))
    assert all(s.views is None for s in trainer.run())


def test_view_snapshots_show_that_snapshots_weights(run, data):
    trainer, snaps, params = run
    assert snaps[-1].state == FINISHED
    probe_image = data.x_test[3]
    for snap, p in zip(snaps, params, strict=True):
        views = snap.views
        assert views.step == snap.step
        _, acts = apply_with_activations(SPEC, p, to_float(probe_image[None]))
        for maps, act in zip(views.probe.layers, acts, strict=True):
            np.testing.assert_allclose(maps.values, np.asarray(act[0]), rtol=1e-4, atol=1e-5)
        (conv,) = views.filters
        np.testing.assert_array_equal(conv.kernel, p[0]["kernel"])
        m = np.abs(p[0]["kernel"]).max()
        for c in range(4):
            assert np.abs(conv.weights.tile_image(c) - normalised(p[0]["kernel"][..., 0, c],
                                                                  -m, m)).max() <= 1


def test_live_views_come_a_snapshot_later_with_the_weights_of_their_step(data):
    """While running, the views asked for at one snapshot arrive at the next: each shows
    the weights after the step it is labelled with, and none is lost on the way."""
    trainer = Trainer(SPEC, data, TrainConfig(batch_size=16, epochs=4), snapshot_interval=0,
                      probe_interval=0, detail_interval=0)
    trainer.command(SetProbe(ProbeImage(data.x_test[3], int(data.y_test[3]), "test 3")))
    params_at, events = {}, []  # events: (step asked for, views) per live snapshot, or None
    for snap in trainer.run():
        if trainer._prober is not None:
            assert trainer._prober.ready.wait(120)  # from here on, every snapshot asks
        params_at[trainer._steps_sent] = trainer.numpy_params()
        live = snap.state == RUNNING and not snap.epoch_done
        events.append((trainer._steps_sent, snap.views) if live else None)
    # each live snapshot brings what the live one before it asked for (the very first
    # live snapshot may come before the views were ready to be asked for)
    first = next(i for i, e in enumerate(events) if e is not None)
    pairs = [(a, b) for a, b in zip(events[first + 1:], events[first + 2:], strict=False)
             if a is not None and b is not None]
    assert len(pairs) >= 10
    assert all(b[1] is not None and b[1].step == a[0] for a, b in pairs)
    for _, views in (b for _, b in pairs):
        p = params_at[views.step]
        _, acts = apply_with_activations(SPEC, p, to_float(data.x_test[3][None]))
        for maps, act in zip(views.probe.layers, acts, strict=True):
            np.testing.assert_allclose(maps.values, np.asarray(act[0]), rtol=1e-4, atol=1e-5)
        np.testing.assert_array_equal(views.filters[0].kernel, p[0]["kernel"])
        assert views.stats is not None and views.filters[0].gradient is not None
    frames = trainer.replay.frames
    assert [f.step for f in frames] == sorted({f.step for f in frames})
    for frame in frames:  # each replay frame holds its own step's filters and loss
        m = np.abs(params_at[frame.step][0]["kernel"]).max()
        expected = kernel_mosaic(params_at[frame.step][0]["kernel"], m, False)
        assert np.array_equal(frame.filters["conv1"].image, expected.image)
        assert frame.loss == pytest.approx(trainer.history.step_loss[frame.step - 1])


def test_epoch_ends_bring_the_confusion_matrix(run, data):
    trainer, snaps, params = run
    ends = [s for s in snaps if s.epoch_done]
    assert [s.views.confusion.epoch for s in ends] == [0, 1]
    for snap in ends:  # one pass gives both the curve's val accuracy and the matrix
        assert snap.val_accuracy == pytest.approx(snap.views.confusion.accuracy)
        assert snap.views.confusion.counts.sum() == len(data.x_val)


def test_gradients_are_the_loss_gradient_on_the_last_batch(data):
    trainer = Trainer(SPEC, data, TrainConfig(batch_size=16, epochs=1))
    trainer.command(SetProbe(ProbeImage(data.x_test[0])))
    for snap in trainer.run():
        if snap.views is not None and snap.views.stats is not None:
            break
    batch = trainer._last_batch
    x, y = data.x_train[batch], data.y_train[batch]
    p = trainer.numpy_params()

    def loss(params):
        logits = apply_with_activations(SPEC, params, to_float(x))[0]
        return -jax.nn.log_softmax(logits)[np.arange(len(y)), y].mean()

    expected = jax.grad(loss)(p)
    np.testing.assert_allclose(snap.views.filters[0].gradient, expected[0]["kernel"],
                               rtol=1e-4, atol=1e-7)
    dense = snap.views.stats[-1]
    assert dense.gradient_norm == pytest.approx(float(np.linalg.norm(expected[4]["kernel"])),
                                                rel=1e-4)


# -- replay ---------------------------------------------------------------------------------------


def _frame(step: int) -> Frame:
    m = tile(np.full((2, 3, 3), step % 250, np.uint8))
    return Frame(step, 0, 1.0 / (step + 1), 0.5, {"conv1": m}, {"input": m, "conv1": m},
                 {"conv1": 2.0}, {"conv1": np.nan})


def test_replay_stays_bounded_and_keeps_first_and_newest():
    replay = Replay()
    for step in range(1, 300):
        replay = replay.add(_frame(step), max_frames=10)
        assert len(replay) <= 10
        assert replay.frames[0].step == 1 and replay.frames[-1].step == step
    steps = [f.step for f in replay.frames]
    assert steps == sorted(steps)
    assert [f.step for f in replay.upto(100).frames] == [s for s in steps if s <= 100]


def test_trainer_replay_continues_a_given_one(run, data):
    trainer, snaps, _ = run
    replay = trainer.replay
    assert len(replay) >= 2 and replay.frames[-1].step == snaps[-1].step
    assert any(s.views.replay is replay for s in snaps)  # handed to the views as it grew
    steps = [f.step for f in replay.frames]
    assert steps == sorted(set(steps))
    # a frame's filters are that moment's filters: the last one is the final snapshot's
    assert np.array_equal(replay.frames[-1].filters["conv1"].image,
                          snaps[-1].views.filters[0].weights.image)
    cont = Trainer(SPEC, data, TrainConfig(batch_size=16, epochs=3),
                   params=trainer.params, history=trainer.history)
    cont.command(SetReplay(replay))
    cont.command(SetProbe(ProbeImage(data.x_test[3])))
    list(cont.run())
    old = [f.step for f in replay.frames]
    assert [f.step for f in cont.replay.frames][:len(old)] == old
    assert cont.replay.frames[-1].step == cont.history.steps


def test_replay_bytes_round_trip(run):
    replay = run[0].replay
    back = load_replay(replay_bytes(replay))
    assert len(back) == len(replay)
    for a, b in zip(replay.frames, back.frames, strict=True):
        assert (a.step, a.epoch) == (b.step, b.epoch)
        assert a.loss == pytest.approx(b.loss) and a.weight_norms == pytest.approx(b.weight_norms)
        for group in ("filters", "maps"):
            for name, mosaic in getattr(a, group).items():
                other = getattr(b, group)[name]
                assert np.array_equal(mosaic.image, other.image)
                assert (mosaic.tile, mosaic.grid, mosaic.count) == (other.tile, other.grid,
                                                                   other.count)
    assert len(load_replay(replay_bytes(Replay()))) == 0


@pytest.mark.parametrize("damage", [lambda b: b[:len(b) // 2], lambda b: b"not a replay"])
def test_a_damaged_replay_is_refused_with_a_reason(run, damage):
    with pytest.raises(ReplayError, match="replay"):
        load_replay(damage(replay_bytes(run[0].replay)))


def test_a_histogram_of_values_whose_range_overflows_float32():
    from cnnviz.engine.probe import BINS, histogram

    huge = np.array([3e38, -3e38, 1.0, 0.0, -2.5], np.float32)  # 3e38 - -3e38 > float32 max
    for symmetric in (True, False):
        h = histogram(huge, symmetric)
        assert h.counts.sum() == huge.size and len(h.edges) == BINS + 1
        assert np.all(np.isfinite(h.edges)) and h.edges[0] == pytest.approx(-3e38)
        # numpy in float64, the reference: the same counts over the same bins
        reference_counts, _ = np.histogram(huge.astype(np.float64), h.edges)
        np.testing.assert_array_equal(h.counts, reference_counts)
    overflowed = np.array([np.inf, np.nan, -np.inf, 1.0, 2.0], np.float32)
    assert histogram(overflowed, symmetric=False).counts.sum() == 2  # the finite ones


@pytest.mark.filterwarnings("ignore:overflow:RuntimeWarning",
                            "ignore:invalid value:RuntimeWarning")
def test_views_at_rest_of_a_network_with_a_weight_of_3e38(data):
    """Finite weights the file reader accepts; the activations they give overflow (the
    warnings say so), but every view's data is there."""
    params = reference.random_weights(SPEC, seed=1)
    kernel = np.array(params[0]["kernel"])
    kernel[0, 0, 0, 0], kernel[1, 1, 0, 1] = 3e38, -3e38
    params[0] = {**params[0], "kernel": kernel}
    views = Prober(SPEC, data).views_at_rest(params, ProbeImage(data.x_test[0], 0, "x"), 0, 16)
    assert [s.name for s in views.stats] == ["conv1", "dense1", "dense2"]
    assert views.stats[0].weights.counts.sum() == kernel.size
    assert views.filters[0].weight_range == pytest.approx(3e38)
