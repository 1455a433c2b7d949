"""`prune`, `quantize` and `sweep`: a trained project made smaller, and how much pruning
each layer bears. The compressed model is saved as a new project whose weights are the
compressed ones, with what was done recorded in it (see io.compression)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from cnnviz.cli.common import CliError, Parents, emit, load_data
from cnnviz.core.columns import pad
from cnnviz.core.compression import GLOBAL, SCOPES, CompressionError, check_sparsity
from cnnviz.core.compression_record import describe, step_to_dict
from cnnviz.core.i18n import tr
from cnnviz.core.progress import epoch_line, progress_bar
from cnnviz.core.quantization import CALIBRATIONS, DEFAULT_PERCENTILE, FLOAT16, MINMAX, SCHEMES
from cnnviz.io.atomic import write_atomic
from cnnviz.io.compression import (
    MASKS,
    CompressionFileError,
    compressed_project,
    load_masks,
)
from cnnviz.io.project import Project, load_project, save_project


def _names(text: str | None) -> list[str] | None:
    return [n.strip() for n in text.split(",") if n.strip()] if text else None


def _trained(args: argparse.Namespace) -> Project:
    project = load_project(args.file)
    if project.weights is None:
        raise CliError(tr("{file} holds an untrained network (no weights)", file=args.file))
    return project


def _data(args: argparse.Namespace, project: Project):
    dataset = load_data(args, project.dataset, project.config.seed,
                        project.config.validation_fraction, project.per_class)
    if tuple(project.spec.input_shape) != dataset.input_shape:
        raise CliError(tr("the network takes {shape} images but {name} has {data}",
                          shape=project.spec.input_shape, name=project.dataset,
                          data=dataset.input_shape))
    project.spec.check(dataset.num_classes)
    return dataset


def _run(args: argparse.Namespace, job) -> object:
    """Iterate a compression job, showing its fine-tuning epochs; returns its result."""
    result = None
    for item in job:
        epoch_done = getattr(item, "epoch_done", False)
        if epoch_done:
            stats = item  # a snapshot: its history is the trainer's
            emit(args, {"event": "epoch", "epoch": stats.epoch + 1,
                        "val_loss": stats.val_loss, "val_accuracy": stats.val_accuracy})
            if not args.json:
                print(tr("fine-tuning epoch {epoch}/{epochs}", epoch=stats.epoch + 1,
                         epochs=stats.epochs) + "  " + epoch_line(
                    stats.steps_per_epoch, stats.steps_per_epoch, stats.elapsed,
                    {"val_loss": stats.val_loss, "val_accuracy": stats.val_accuracy}),
                    file=sys.stderr, flush=True)
        result = item
    return result


def _save(args: argparse.Namespace, project: Project, result) -> None:
    save_project(args.out, compressed_project(project, result, name=Path(args.file).name))


def _report(args: argparse.Namespace, result, extra: dict) -> None:
    step = result.step
    emit(args, {"event": "done", **step_to_dict(step), **extra, "saved": args.out})
    if not args.json:
        print(describe(step))
        print(tr("saved {path}", path=args.out))


def cmd_prune(args: argparse.Namespace) -> int:
    from cnnviz.engine.compress_pipeline import prune  # JAX starts here, not for --help

    try:
        check_sparsity(args.sparsity)
        project = _trained(args)
        job = prune(project.spec, _data(args, project), project.config, project.weights,
                    sparsity=args.sparsity, scope=args.scope, layers=_names(args.layers),
                    structured=args.structured, epochs=args.fine_tune_epochs,
                    rounds=args.rounds, learning_rate=args.lr)
        result = _run(args, job)
    except CompressionError as exc:
        raise CliError(str(exc)) from None
    _save(args, project, result)
    _report(args, result, {"shapes": [list(i.out_shape) for i in result.spec.check().layers]})
    return 0


def cmd_quantize(args: argparse.Namespace) -> int:
    from cnnviz.engine.compress_pipeline import check_quantize, quantize

    calibration = None if args.calibrate is None else args.calibration
    try:
        if args.onnx and args.scheme == FLOAT16:
            raise CompressionError(tr("--onnx writes int8 QuantizeLinear / DequantizeLinear; "
                                      "float16 has no scales to write"))
        project = _trained(args)
        check_quantize(project.spec, args.scheme, calibration, args.calibrate or 0,
                       args.percentile, _names(args.keep_float) or [], args.qat_epochs)
        masks = (load_masks(project.spec, project.extras[MASKS]) if MASKS in project.extras
                 else None)
        dataset = _data(args, project)
        job = quantize(project.spec, dataset, project.config, project.weights,
                       masks, scheme=args.scheme, calibration=calibration,
                       images=args.calibrate or 0, percentile=args.percentile,
                       keep_float=_names(args.keep_float), qat_epochs=args.qat_epochs,
                       learning_rate=args.lr)
        result = _run(args, job)
    except (CompressionError, CompressionFileError) as exc:
        raise CliError(str(exc)) from None
    _save(args, project, result)
    if args.onnx:
        from cnnviz.io.export.onnx_qdq import qdq_onnx_bytes

        write_atomic(args.onnx, qdq_onnx_bytes(result.spec, result.weights, result.step,
                                               dataset.class_names))
    _report(args, result, {"output_errors": result.details.errors, "onnx": args.onnx})
    if args.onnx and not args.json:
        print(tr("wrote {path} (int8 weights, QuantizeLinear / DequantizeLinear)",
                 path=args.onnx))
    return 0


def cmd_sweep(args: argparse.Namespace) -> int:
    from cnnviz.engine.compress import Evaluator, evaluation_set, sweep

    try:
        project = _trained(args)
        dataset = _data(args, project)
        which, x, y = evaluation_set(dataset)
        if not len(x):
            raise CliError(tr("{name} has no validation or test images to measure on",
                              name=project.dataset))
        progress = None
        for progress in sweep(Evaluator(project.spec, x, y), project.weights,
                              layers=_names(args.layers)):
            if not args.json and sys.stderr.isatty():
                print(f"\r{progress_bar(progress.done, progress.total)} "
                      f"{progress.done}/{progress.total}", end="", file=sys.stderr, flush=True)
    except CompressionError as exc:
        raise CliError(str(exc)) from None
    result = progress.sweep
    knees = result.knees()
    if args.json:
        emit(args, {"event": "sweep", "images": len(x), "split": which,
                    "levels": list(result.levels), "accuracy": result.accuracy,
                    "loss": result.loss, "knees": knees, "seconds": result.seconds})
        return 0
    print(file=sys.stderr)
    split = {"validation": tr("validation"), "test": tr("test")}[which]
    print(tr("accuracy on {count:,} {split} images when pruning (all: every layer by one "
             "threshold; a layer: that layer alone)", count=len(x), split=split))
    print(pad(tr("sparsity"), 10, right=True) + "".join(f"{name:>9}"
                                                        for name in result.accuracy))
    for i, level in enumerate(result.levels):
        print(f"{100 * level:>9.0f}%" + "".join(f"{100 * acc[i]:>8.1f}%"
                                                for acc in result.accuracy.values()))
    print(pad(tr("knee"), 10, right=True) + "".join(
        f"{'-' if k is None else f'{100 * k:.0f}%':>9}" for k in knees.values()))
    print(tr("knee: the most pruning before accuracy drops more than 1 point; {seconds:.1f} s",
             seconds=result.seconds))
    return 0


def _tuning_and_output(p: argparse.ArgumentParser, out_help: str) -> None:
    p.add_argument("--lr", type=float, help=tr("fine-tuning learning rate (default: the "
                                               "project's)"))
    p.add_argument("--out", required=True, help=out_help)


def register(sub: argparse._SubParsersAction, parents: Parents) -> None:
    p = sub.add_parser("prune", parents=[parents.json, parents.data],
                       help=tr("prune a trained project's weights"))
    p.add_argument("file", help=tr("a trained .cnnviz project"))
    p.add_argument("--sparsity", type=float, required=True,
                   help=tr("fraction of weights (or filters) to remove, in [0, 1)"))
    p.add_argument("--scope", choices=SCOPES, default=GLOBAL,
                   help=tr("global: one magnitude threshold for all layers; layer: each "
                           "alike"))
    p.add_argument("--layers",
                   help=tr("comma-separated layers to prune (default: all weighted)"))
    p.add_argument("--structured", action="store_true",
                   help=tr("remove whole filters (smallest L1 norm), which shrinks the "
                           "compute"))
    p.add_argument("--fine-tune-epochs", type=int, default=0,
                   help=tr("epochs of training after each round, the pruned weights held at "
                           "zero"))
    p.add_argument("--rounds", type=int, default=1,
                   help=tr("prune in this many equal steps, fine-tuning after each"))
    _tuning_and_output(p, tr("save the pruned project here (.cnnviz)"))
    p.set_defaults(func=cmd_prune)

    p = sub.add_parser("quantize", parents=[parents.json, parents.data],
                       help=tr("quantize a trained project's weights (and activations)"))
    p.add_argument("file", help=tr("a trained .cnnviz project"))
    p.add_argument("--scheme", choices=SCHEMES, required=True)
    p.add_argument("--calibrate", type=int, metavar="N",
                   help=tr("also quantize activations to int8, calibrated on N training "
                           "images"))
    p.add_argument("--calibration", choices=CALIBRATIONS, default=MINMAX,
                   help=tr("the activation range: min/max or a percentile of the values"))
    p.add_argument("--percentile", type=float, default=DEFAULT_PERCENTILE)
    p.add_argument("--keep-float", help=tr("comma-separated layers to leave in float32"))
    p.add_argument("--qat-epochs", type=int, default=0,
                   help=tr("quantization-aware fine-tuning epochs (int8)"))
    p.add_argument("--onnx", metavar="FILE.onnx",
                   help=tr("also write the int8 network as ONNX with QuantizeLinear / "
                           "DequantizeLinear"))
    _tuning_and_output(p, tr("save the quantized project here (.cnnviz)"))
    p.set_defaults(func=cmd_quantize)

    p = sub.add_parser("sweep", parents=[parents.json, parents.data],
                       help=tr("accuracy against sparsity, for the whole network and each "
                               "layer"))
    p.add_argument("file", help=tr("a trained .cnnviz project"))
    p.add_argument("--layers",
                   help=tr("comma-separated layers to sweep (default: all weighted)"))
    p.set_defaults(func=cmd_sweep)
