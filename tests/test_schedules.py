"""Learning-rate schedules: core.schedules' numbers against optax's own schedules, live
changes that scale the schedule, reduce-on-plateau, and the trainer following them
without recompiling."""

import cnnviz.engine  # noqa: F401, I001  (first: sets XLA's flags before JAX starts)
import numpy as np
import optax
import pytest
import reference

from cnnviz.core.commands import SetLearningRate
from cnnviz.core.config import SCHEDULES, ConfigError, TrainConfig
from cnnviz.core.layers import Conv2D, Dense, Flatten, MaxPool2D
from cnnviz.core.network import NetworkSpec
from cnnviz.core.schedules import LearningRate, preview, schedule_factors

SPE, EPOCHS = 7, 6  # steps per epoch, epochs
STEPS = np.arange(1, SPE * EPOCHS + 1)


def _optax_reference(config: TrainConfig):
    """The same schedule built from optax's own schedules (counting updates from 0)."""
    total, every = SPE * config.epochs, SPE * config.decay_epochs
    match config.schedule:
        case "constant" | "plateau":
            return optax.constant_schedule(1.0)
        case "step":
            return optax.exponential_decay(1.0, every, config.decay_factor, staircase=True)
        case "exponential":
            return optax.exponential_decay(1.0, every, config.decay_factor)
        case "cosine":
            return optax.cosine_decay_schedule(1.0, total)
        case "warmup-cosine":
            warm = SPE * config.warmup_epochs
            return optax.join_schedules([optax.linear_schedule(1 / warm, 1.0, warm - 1),
                                         optax.cosine_decay_schedule(1.0, total - warm)],
                                        [warm])
    raise AssertionError(config.schedule)


@pytest.mark.parametrize("schedule", SCHEDULES)
@pytest.mark.parametrize(("factor", "every", "warmup"), [(0.5, 2, 1), (0.1, 1, 3)])
def test_every_schedule_matches_optax(schedule, factor, every, warmup):
    config = TrainConfig(epochs=EPOCHS, schedule=schedule, decay_factor=factor,
                         decay_epochs=every, warmup_epochs=warmup)
    ours = schedule_factors(config, STEPS, SPE)
    theirs = np.array([float(_optax_reference(config)(t)) for t in STEPS - 1])
    np.testing.assert_allclose(ours, theirs, rtol=1e-6, atol=1e-7)
    assert ours[0] > 0 and (ours > 0).all()  # a rate of 0 would train nothing


def test_the_shapes_of_the_schedules():
    def factors(**kw):
        return schedule_factors(TrainConfig(epochs=EPOCHS, **kw), STEPS, SPE)

    step = factors(schedule="step", decay_factor=0.5, decay_epochs=2)
    assert step[:2 * SPE].tolist() == [1.0] * (2 * SPE) and step[2 * SPE] == 0.5
    cosine = factors(schedule="cosine")
    assert cosine[0] == 1.0 and cosine[-1] == pytest.approx(
        0.5 * (1 + np.cos(np.pi * (SPE * EPOCHS - 1) / (SPE * EPOCHS))))
    assert (np.diff(cosine) < 0).all()
    warm = factors(schedule="warmup-cosine", warmup_epochs=2)
    assert warm[0] == pytest.approx(1 / (2 * SPE)) and warm[2 * SPE - 1] == 1.0
    assert warm.argmax() == 2 * SPE - 1
    assert (factors(schedule="plateau") == 1).all()


def test_rates_are_the_configured_rate_times_the_factor_as_float32():
    config = TrainConfig(learning_rate=0.01, epochs=EPOCHS, schedule="exponential")
    rate = LearningRate(config, SPE)
    rates = rate.rates(5, 4)
    assert rates.dtype == np.float32
    np.testing.assert_allclose(rates, 0.01 * schedule_factors(config, np.arange(5, 9), SPE),
                               rtol=1e-7)
    assert rate.rate(5) == pytest.approx(rates[0], rel=1e-7)


def test_a_live_change_sets_the_rate_now_and_scales_the_rest_of_the_schedule():
    config = TrainConfig(learning_rate=0.01, epochs=EPOCHS, schedule="cosine")
    before = LearningRate(config, SPE).rates(1, SPE * EPOCHS).astype(np.float64)
    rate = LearningRate(config, SPE)
    rate.set_rate(0.002, 10)
    after = rate.rates(10, SPE * EPOCHS - 9).astype(np.float64)
    assert after[0] == pytest.approx(0.002)
    np.testing.assert_allclose(after / before[9:], 0.002 / before[9], rtol=1e-5)
    with pytest.raises(ValueError, match="above 0"):
        rate.set_rate(-0.1, 11)


def test_reduce_on_plateau_cuts_the_rate_after_patience_epochs_without_improvement():
    config = TrainConfig(learning_rate=0.1, epochs=EPOCHS, schedule="plateau",
                         decay_factor=0.5, decay_epochs=2, min_delta=0.01)
    rate = LearningRate(config, SPE)
    cuts = [rate.end_of_epoch({"val_loss": v}) for v in
            (1.0, 0.9, 0.895, 0.893, 0.7, 0.71, 0.72, 0.73, 0.74)]
    # 0.895 and 0.893 improve by less than min_delta: a cut; then 0.7 improves, and the
    # four after it do not: a cut after two, another after two more
    assert cuts == [False, False, False, True, False, False, True, False, True]
    assert rate.rate(1) == pytest.approx(0.1 * 0.5 ** 3)
    other = LearningRate(TrainConfig(schedule="cosine"), SPE)
    assert not any(other.end_of_epoch({"val_loss": 1.0}) for _ in range(5))


def test_preview_spans_the_run_in_epochs():
    config = TrainConfig(learning_rate=0.01, epochs=EPOCHS, schedule="warmup-cosine",
                         warmup_epochs=1)
    epochs, rates = preview(config, SPE, points=20)
    assert len(epochs) <= 20 and epochs[0] == pytest.approx(1 / SPE) and epochs[-1] == EPOCHS
    assert rates.max() == pytest.approx(0.01, rel=1e-3) and (rates > 0).all()
    assert len(preview(config, 1000)[0]) == 200


@pytest.mark.parametrize(("changes", "message"), [
    ({"schedule": "linear"}, "schedule must be one of constant, step, exponential, cosine, "
                             "warmup-cosine, plateau, got 'linear'"),
    ({"decay_factor": -0.5}, "the decay factor must be in (0, 1): each decay multiplies the "
                             "learning rate by it, got -0.5"),
    ({"decay_factor": 1.0}, "got 1.0"),
    ({"decay_epochs": 0}, "decay epochs must be a whole number of epochs from 1 to 100,000, "
                          "got 0"),
    ({"warmup_epochs": 1.5}, "warmup epochs must be a whole number"),
    ({"learning_rate": -0.01}, "learning rate must be in (0, 10], got -0.01"),
])
def test_bad_schedule_settings_are_refused_in_one_line(changes, message):
    with pytest.raises(ConfigError) as info:
        TrainConfig(**changes)
    assert message in str(info.value) and "\n" not in str(info.value)


def test_config_round_trip_writes_schedule_fields_only_when_set():
    assert "schedule" not in TrainConfig().to_dict()
    config = TrainConfig(schedule="step", decay_factor=0.1, decay_epochs=3)
    data = config.to_dict()
    assert (data["schedule"], data["decay_factor"], data["decay_epochs"]) == ("step", 0.1, 3)
    assert TrainConfig.from_dict(data) == config


# -- the trainer --------------------------------------------------------------------------

SMALL = NetworkSpec((12, 12, 1), (Conv2D(4, 3), MaxPool2D(2), Flatten(), Dense(5, "none")))


@pytest.fixture(scope="module")
def small_data():
    return reference.subset(reference.shapes_dataset(), 32 * 10, 64, crop=12)


def test_the_trainer_trains_each_step_with_its_scheduled_rate(small_data):
    from cnnviz.engine.trainer import Trainer

    config = TrainConfig(learning_rate=0.01, epochs=3, schedule="step", decay_factor=0.1,
                         decay_epochs=1)
    trainer = Trainer(SMALL, small_data, config, snapshot_interval=0)
    snaps = list(trainer.run())
    rates = {s.step: s.learning_rate for s in snaps if s.step}
    for step, value in rates.items():
        assert value == pytest.approx(0.01 * 0.1 ** ((step - 1) // 10), rel=1e-6)
    assert [e["learning_rate"] for e in trainer.history.epochs] == pytest.approx(
        [0.01, 0.001, 0.0001], rel=1e-6)
    assert float(trainer.opt_state.hyperparams["learning_rate"]) == pytest.approx(1e-4)


def test_a_live_change_scales_the_schedule_without_recompiling(small_data, monkeypatch):
    from cnnviz.engine import trainer as trainer_module
    from cnnviz.engine.trainer import Trainer

    made = []
    real = trainer_module.make_train_step

    def counting(*args, **kwargs):
        made.append(real(*args, **kwargs))
        return made[-1]

    monkeypatch.setattr(trainer_module, "make_train_step", counting)
    config = TrainConfig(learning_rate=0.01, epochs=2, schedule="cosine")
    trainer = Trainer(SMALL, small_data, config, snapshot_interval=0, steps_per_dispatch=1)
    run = trainer.run()
    for snap in run:
        if snap.step == 5:
            before = trainer.schedule.rate(6)
            trainer.command(SetLearningRate(before / 4))
            break
    rest = [s for s in run if s.step > 5]
    by_step = {s.step: s.learning_rate for s in rest}
    plain = LearningRate(config, 10)
    for step in (7, 12, 20):
        assert by_step[step] == pytest.approx(plain.rate(step) / 4, rel=1e-5)
    (step_fn,) = made
    assert step_fn._cache_size() == 1  # the rate is data: one compilation
