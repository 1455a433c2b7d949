"""Compressing a trained network from start to finish, as the `prune` and `quantize`
commands and the Compress workspace's buttons do it: check the request, measure the
network before, compress (and fine-tune), measure it after, and say what was done.

Each job is a generator: it yields the fine-tuning's snapshots as they come (for
progress and curves) and ends with a Compressed. Every check runs before any work, so a
bad request raises CompressionError with nothing done.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field, replace

import numpy as np

from cnnviz.core.compression import (
    GLOBAL,
    PER_LAYER,
    SCOPES,
    CompressionError,
    Masks,
    Weights,
    apply_masks,
    check_layers,
    deflated_bytes,
    layer_sparsity,
    magnitude_masks,
    prune_schedule,
    structured_prune,
    total_macs,
)
from cnnviz.core.compression_record import PruneStep, QuantizeStep
from cnnviz.core.config import TrainConfig
from cnnviz.core.history import History
from cnnviz.core.i18n import tr
from cnnviz.core.network import NetworkSpec
from cnnviz.core.quantization import (
    CALIBRATIONS,
    DEFAULT_PERCENTILE,
    FLOAT16,
    QuantizedWeights,
    activation_range,
    check_scheme,
    layer_bytes,
    on_grid,
    quantize_network,
    with_int8_biases,
)
from cnnviz.core.snapshot import Snapshot
from cnnviz.data.dataset import Dataset
from cnnviz.engine.compress import (
    Evaluator,
    calibrate,
    evaluation_set,
    output_errors,
    per_layer,
)
from cnnviz.engine.compress_tuning import (
    Round,
    prune_and_fine_tune,
    qat_shadow,
    quantization_aware_trainer,
)

ERROR_IMAGES = 256  # images the per-layer errors are measured on without a calibration set


@dataclass(frozen=True)
class Compressed:
    """The compressed network, what was done (`step`, for the record), and when it was
    fine-tuned that run's history and settings (else None: the project keeps its own).
    `figures` are the compressed network's, measured at the end, by core.runs METRICS
    key: validation and test loss and accuracy (None without such images)."""

    spec: NetworkSpec
    weights: Weights
    masks: Masks | None
    step: PruneStep | QuantizeStep
    history: History | None = None
    config: TrainConfig | None = None
    details: Quantized | None = None
    figures: dict[str, float | None] = field(default_factory=dict)


@dataclass(frozen=True)
class Quantized:
    """A quantization's numbers per layer: int8 weight scales, int8 input (scale, zero
    point), the relative error of each quantized layer's output, bytes before / after."""

    scales: dict[str, np.ndarray]
    activations: dict[str, tuple[np.float32, int]]
    errors: dict[str, float]
    bytes_float: dict[str, int]
    bytes_quantized: dict[str, int]


def _measure(evaluator: Evaluator, weights: Weights, activations=None
             ) -> tuple[float | None, float | None]:
    """(mean loss, accuracy) on the evaluator's images; (None, None) without any."""
    loss, accuracy = evaluator(weights, None, activations)
    return (None, None) if np.isnan(accuracy) else (loss, accuracy)


def _final_figures(dataset: Dataset, which: str, spec: NetworkSpec, weights: Weights,
                   after: tuple[float | None, float | None], activations=None
                   ) -> dict[str, float | None]:
    """The compressed network's figures by core.runs METRICS key: `after`, measured on
    the `which` images (evaluation_set's), and those on the test images (`after` itself
    when it was measured on them: the data has no validation split)."""
    if which == "test":
        return {"val_loss": None, "val_accuracy": None, "test_loss": after[0],
                "test_accuracy": after[1]}
    test = (_measure(Evaluator(spec, dataset.x_test, dataset.y_test), weights, activations)
            if len(dataset.x_test) else (None, None))
    return {"val_loss": after[0], "val_accuracy": after[1], "test_loss": test[0],
            "test_accuracy": test[1]}


def _tuning(config: TrainConfig, epochs: int, learning_rate: float | None) -> TrainConfig:
    return replace(config, epochs=epochs, **(
        {} if learning_rate is None else {"learning_rate": learning_rate}))


def _check_epochs(epochs: object) -> None:
    if isinstance(epochs, bool) or not isinstance(epochs, int) or epochs < 0:
        raise CompressionError(tr("fine-tuning epochs must be a whole number >= 0, got "
                                  "{value}", value=epochs))


def prune(spec: NetworkSpec, dataset: Dataset, config: TrainConfig, weights: Weights, *,
          sparsity: float, scope: str = GLOBAL, layers: list[str] | None = None,
          structured: bool = False, epochs: int = 0, rounds: int = 1,
          learning_rate: float | None = None, **options) -> Iterator[Snapshot | Round |
                                                                     Compressed]:
    """Prune `weights` (magnitude, or whole filters when `structured`) to `sparsity`,
    fine-tuning `epochs` epochs after each of `rounds` rounds."""
    prune_schedule(sparsity, rounds)  # checks both
    if scope not in SCOPES:
        raise CompressionError(tr("scope must be global or layer, got {scope}", scope=scope))
    check_layers(spec, layers)
    _check_epochs(epochs)
    which, x, y = evaluation_set(dataset)
    evaluators = {spec: Evaluator(spec, x, y)}

    def measure(net: NetworkSpec, values: Weights) -> tuple[float | None, float | None]:
        if net not in evaluators:
            evaluators[net] = Evaluator(net, x, y)
        return _measure(evaluators[net], values)

    if structured:
        one_shot = structured_prune(spec, weights, sparsity, layers)
        pruned_spec, pruned, masks = one_shot.spec, one_shot.weights, None
    else:
        masks = magnitude_masks(spec, weights, sparsity, scope, layers)
        pruned_spec, pruned = spec, apply_masks(weights, masks)
    last = None
    if epochs:
        tuning = _tuning(config, epochs, learning_rate)
        for item in prune_and_fine_tune(spec, dataset, tuning, weights, sparsity, epochs=epochs,
                                        rounds=rounds, scope=scope, layers=layers,
                                        structured=structured, **options):
            yield item
            last = item if isinstance(item, Round) else last
    final_spec, final = (last.spec, last.weights) if last else (pruned_spec, pruned)
    masks = last.masks if last else masks
    if structured:
        sizes = {r.name: r.weights for r in layer_sparsity(spec, weights)}
        kept = {r.name: r.weights for r in layer_sparsity(final_spec, final)}
        sparsities = {name: 1 - kept[name] / sizes[name] for name in sizes}
    else:
        sparsities = {r.name: r.sparsity for r in layer_sparsity(spec, final)}
    after = measure(final_spec, final)
    step = PruneStep(
        accuracy_before=measure(spec, weights)[1], accuracy_after=after[1],
        bytes_before=deflated_bytes(weights), bytes_after=deflated_bytes(final),
        macs_before=total_macs(spec), macs_after=total_macs(final_spec),
        sparsity=float(sparsity), scope=PER_LAYER if structured else scope, structured=structured,
        layers=list(layers or []), fine_tune_epochs=epochs * rounds, rounds=rounds,
        layer_sparsity=sparsities, accuracy_pruned=measure(pruned_spec, pruned)[1])
    yield Compressed(final_spec, final, masks, step, last.history if last else None,
                     _tuning(config, epochs * rounds, learning_rate) if last else None,
                     figures=_final_figures(dataset, which, final_spec, final, after))


def check_quantize(spec: NetworkSpec, scheme: str, calibration: str | None, images: int,
                   percentile: float, keep_float: list[str], qat_epochs: int) -> None:
    """CompressionError for a quantization that cannot be done as asked."""
    check_scheme(scheme)
    check_layers(spec, keep_float)
    _check_epochs(qat_epochs)
    if calibration is not None:
        if calibration not in CALIBRATIONS:
            raise CompressionError(tr("unknown calibration {method} (known: {known})",
                                      method=calibration, known=", ".join(CALIBRATIONS)))
        if scheme == FLOAT16:
            raise CompressionError(tr("int8 activations need int8 weights; float16 keeps "
                                      "activations in float"))
        if images < 1:
            raise CompressionError(tr("calibration needs at least one image, got {count}",
                                      count=images))
        activation_range(np.zeros(1, np.float32), calibration, percentile)  # checks it
    if qat_epochs and scheme == FLOAT16:
        raise CompressionError(tr("quantization-aware fine-tuning is for int8 weights"))


def quantize(spec: NetworkSpec, dataset: Dataset, config: TrainConfig, weights: Weights,
             masks: Masks | None = None, *, scheme: str, calibration: str | None = None,
             images: int = 0, percentile: float = DEFAULT_PERCENTILE,
             keep_float: list[str] | None = None, qat_epochs: int = 0,
             learning_rate: float | None = None, **options) -> Iterator[Snapshot | Compressed]:
    """Quantize `weights` to `scheme` (layers in `keep_float` stay float32), the layers'
    inputs to int8 when `calibration` (a method) is given, calibrated on the first
    `images` training images; with `qat_epochs`, fine-tune through the int8 grid first
    (`masks`, of a pruned network, are held)."""
    keep_float = list(keep_float or [])
    check_quantize(spec, scheme, calibration, images, percentile, keep_float, qat_epochs)
    if calibration is not None and not len(dataset.x_train):
        raise CompressionError(tr("calibration needs at least one image, got none"))
    which, x, y = evaluation_set(dataset)
    evaluator = Evaluator(spec, x, y)
    x_cal = dataset.x_train[:images if calibration is not None else ERROR_IMAGES]
    quantized: QuantizedWeights = quantize_network(spec, weights, scheme, keep_float)
    history = tuning = None
    reference = weights  # the float network the quantized one is compared with
    if qat_epochs:
        tuning = _tuning(config, qat_epochs, learning_rate)
        trainer = quantization_aware_trainer(spec, dataset, tuning, weights, quantized.scales,
                                             masks, **options)
        yield from trainer.run()
        reference = qat_shadow(trainer)
        quantized = on_grid(spec, reference, quantized.scales)
        history = trainer.history
    layers = list(quantized.scales)
    acts = calibrate(spec, quantized.weights, x_cal, layers, calibration, percentile) if (
        calibration is not None) else {}
    final = with_int8_biases(spec, quantized, acts)
    act_list = per_layer(spec, acts) if acts else None
    errors = output_errors(spec, reference, final, act_list, x_cal, check_layers(spec, None))
    bytes_float = layer_bytes(spec, weights, None)
    bytes_quantized = layer_bytes(spec, weights, scheme, keep_float, bool(acts))
    macs = total_macs(spec)
    after = _measure(evaluator, final, act_list)
    step = QuantizeStep(
        accuracy_before=_measure(evaluator, weights)[1], accuracy_after=after[1],
        bytes_before=sum(bytes_float.values()), bytes_after=sum(bytes_quantized.values()),
        macs_before=macs, macs_after=macs, scheme=scheme, calibration=calibration,
        calibration_images=len(x_cal) if calibration is not None else 0,
        percentile=percentile if calibration == "percentile" else None,
        keep_float=keep_float, qat_epochs=qat_epochs,
        weight_scales={n: np.atleast_1d(s).astype(float).tolist()
                       for n, s in quantized.scales.items()},
        activations={n: [float(s), int(z)] for n, (s, z) in acts.items()})
    yield Compressed(spec, final, masks, step, history, tuning, Quantized(
        quantized.scales, acts, errors, bytes_float, bytes_quantized),
        _final_figures(dataset, which, spec, final, after, act_list))
