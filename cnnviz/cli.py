"""The `cnnviz` command: the GUI when run bare, and headless subcommands for scripts.

Every subcommand uses the same core / data / engine / io code as the window. `--json`
switches the output to one JSON object per line (one per epoch, one final).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from cnnviz.core.config import AUGMENTATIONS, OPTIMIZERS, ConfigError, TrainConfig
from cnnviz.core.layers import LayerFormatError
from cnnviz.core.network import NetworkError, NetworkSpec
from cnnviz.core.presets import DEFAULT_PRESET, PRESETS, UnknownPresetError, get_preset
from cnnviz.core.progress import epoch_line
from cnnviz.core.summary import summary_table
from cnnviz.data.dataset import DatasetError
from cnnviz.data.registry import DEFAULT_DATASET, list_datasets, load_dataset
from cnnviz.io.project import SUFFIX, Project, ProjectFileError, load_project, save_project
from cnnviz.io.weights import WeightsError

USER_ERRORS = (NetworkError, DatasetError, ConfigError, ProjectFileError, WeightsError,
               UnknownPresetError, LayerFormatError, OSError)


class CliError(Exception):
    pass


def _emit(args: argparse.Namespace, event: dict) -> None:
    if args.json:
        print(json.dumps(event), flush=True)


def _read_network(path: str) -> NetworkSpec:
    if path.endswith(SUFFIX):
        return load_project(path).spec
    try:
        text = Path(path).read_text()
    except OSError as exc:
        raise CliError(f"cannot read {path}: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise CliError(f"{path} is not a network description (JSON text) or a {SUFFIX} "
                       "project") from None
    return NetworkSpec.from_json(text)


def _network_arg(args: argparse.Namespace) -> NetworkSpec:
    if getattr(args, "network", None):
        return _read_network(args.network)
    return get_preset(args.preset or DEFAULT_PRESET).spec


# -- subcommands ------------------------------------------------------------------------

def cmd_summary(args: argparse.Namespace) -> int:
    spec = _read_network(args.file) if args.file else _network_arg(args)
    analysis = spec.analyze()
    if args.json:
        _emit(args, {"event": "summary", "network": spec.to_dict(),
                     "layers": [{"name": i.name, "output_shape": i.out_shape,
                                 "params": i.params, "macs": i.macs, "error": i.error}
                                for i in analysis.layers],
                     "total_params": analysis.total_params, "total_macs": analysis.total_macs,
                     "problems": [str(p) for p in analysis.problems]})
    else:
        print(summary_table(spec, analysis))
    return 0 if analysis.ok else 2


def cmd_presets(args: argparse.Namespace) -> int:
    for preset in PRESETS.values():
        analysis = preset.spec.analyze()
        if args.json:
            _emit(args, {"event": "preset", "name": preset.name,
                         "description": preset.description,
                         "input_shape": preset.spec.input_shape,
                         "params": analysis.total_params})
        else:
            print(f"{preset.name:15} {analysis.total_params:>9,} params  {preset.description}")
    return 0


def cmd_datasets(args: argparse.Namespace) -> int:
    data_dir = Path(args.data_dir).expanduser() if args.data_dir else None
    for info in list_datasets():
        cached = info.cached(data_dir)
        if args.json:
            _emit(args, {"event": "dataset", "name": info.name, "description": info.description,
                         "input_shape": info.input_shape, "classes": info.num_classes,
                         "size": info.size, "builtin": info.builtin, "cached": cached})
        else:
            where = "built-in" if info.builtin else ("cached" if cached else "download")
            shape = "x".join(map(str, info.input_shape))
            print(f"{info.name:15} {shape:>9} {info.num_classes:>3} classes {info.size:>7,} "
                  f"images  {where:9} {info.description}")
    return 0


def _download_progress(args: argparse.Namespace):
    def report(done: int, total: int | None, message: str) -> None:
        if args.json:
            return
        # units differ (bytes of a download, files of a folder): show a percentage
        amount = f"{100 * done / total:3.0f}%" if total else f"{done:,}"
        print(f"\r{message} {amount}", end="" if total is None or done < total else "\n",
              file=sys.stderr, flush=True)
    return report


def _load_data(args: argparse.Namespace, name: str, seed: int, validation_fraction: float):
    dataset = load_dataset(name, seed=seed, validation_fraction=validation_fraction,
                           data_dir=args.data_dir, image_size=args.image_size,
                           progress=_download_progress(args))
    for note in dataset.notes:  # e.g. image files that could not be read and were skipped
        print(f"note: {note}", file=sys.stderr)
    return dataset


def cmd_train(args: argparse.Namespace) -> int:
    from cnnviz.engine.trainer import Trainer, evaluate  # JAX starts here, not for --help

    preset = get_preset(args.preset or DEFAULT_PRESET) if not args.network else None
    config = TrainConfig(
        optimizer=args.optimizer,
        learning_rate=args.lr if args.lr is not None else (
            preset.learning_rate if preset else 1e-3),
        batch_size=args.batch_size,
        epochs=args.epochs if args.epochs is not None else (preset.epochs if preset else 5),
        seed=args.seed,
        validation_fraction=args.validation_fraction,
        augment=tuple(a for a in (args.augment or "").split(",") if a))
    dataset = _load_data(args, args.dataset, config.seed, config.validation_fraction)
    spec = _network_arg(args)
    if preset is not None:  # a preset takes the data's input shape and classes
        spec = spec.adapted(dataset.input_shape, dataset.num_classes)
    elif tuple(spec.input_shape) != dataset.input_shape:
        raise CliError(f"the network takes {spec.input_shape} images but {dataset.name} has "
                       f"{dataset.input_shape}; change input_shape or pick other data")
    analysis = spec.check(dataset.num_classes)
    if not args.json:
        print(f"{dataset.name}: {len(dataset.x_train):,} train, {len(dataset.x_val):,} "
              f"validation, {len(dataset.x_test):,} test; {analysis.total_params:,} parameters")
    trainer = Trainer(spec, dataset, config)
    for snap in trainer.run():
        if snap.epoch_done:
            stats = trainer.history.epochs[-1]
            if args.json:
                _emit(args, {"event": "epoch", "epoch": snap.epoch + 1, **stats})
            else:
                print(f"\rEpoch {snap.epoch + 1}/{config.epochs}  " + epoch_line(
                    snap.steps_per_epoch, snap.steps_per_epoch, stats["seconds"],
                    {k: stats[k] for k in ("loss", "accuracy", "val_loss", "val_accuracy")}),
                    flush=True)
        elif snap.state == "compiling" and not args.json:
            print("compiling...", end="", flush=True)
        elif snap.state == "running" and not args.json and sys.stdout.isatty():
            done = snap.step - snap.epoch * snap.steps_per_epoch
            recent = trainer.history.step_loss[-done:] if done else [0.0]
            print(f"\rEpoch {snap.epoch + 1}/{config.epochs}  " + epoch_line(
                done, snap.steps_per_epoch, 0.0, {"loss": sum(recent) / len(recent)},
                eta=snap.eta_seconds), end="", flush=True)
    test_loss, test_acc = evaluate(spec, trainer.params, dataset.x_test, dataset.y_test)
    weights = trainer.numpy_params()
    if args.out:
        save_project(args.out, Project(spec, config, args.dataset, weights, trainer.history))
    _emit(args, {"event": "done", "test_loss": test_loss, "test_accuracy": test_acc,
                 "steps": trainer.history.steps, "saved": args.out})
    if not args.json:
        print(f"test loss: {test_loss:.4f} - test accuracy: {test_acc:.4f}"
              + (f"\nsaved {args.out}" if args.out else ""))
    return 0


def cmd_evaluate(args: argparse.Namespace) -> int:
    from cnnviz.engine.trainer import evaluate

    project = load_project(args.file)
    if project.weights is None:
        raise CliError(f"{args.file} holds an untrained network (no weights)")
    name = args.dataset or project.dataset
    dataset = _load_data(args, name, project.config.seed, project.config.validation_fraction)
    if tuple(project.spec.input_shape) != dataset.input_shape:
        raise CliError(f"the network takes {project.spec.input_shape} images but {name} has "
                       f"{dataset.input_shape}")
    project.spec.check(dataset.num_classes)
    loss, acc = evaluate(project.spec, project.weights, dataset.x_test, dataset.y_test)
    if args.json:
        _emit(args, {"event": "evaluate", "dataset": name, "test_loss": loss,
                     "test_accuracy": acc, "examples": len(dataset.x_test)})
    else:
        print(f"{name} test set ({len(dataset.x_test):,} images): loss {loss:.4f} - "
              f"accuracy {acc:.4f}")
    return 0


# -- parser -----------------------------------------------------------------------------

def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="cnnviz", description="Build, train and look inside convolutional networks. "
        "Run without a command to open the window.")
    sub = parser.add_subparsers(dest="command")
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--json", action="store_true", help="one JSON object per line")

    data = argparse.ArgumentParser(add_help=False)
    data.add_argument("--data-dir", help="folder holding the dataset's files")
    data.add_argument("--image-size", type=int, help="resize folder: images to this size")

    p = sub.add_parser("summary", parents=[common], help="layer table with shapes and counts")
    p.add_argument("file", nargs="?", help="a .cnnviz project or network .json")
    src = p.add_mutually_exclusive_group()
    src.add_argument("--preset", choices=list(PRESETS))
    src.add_argument("--network", help="network .json file")
    p.set_defaults(func=cmd_summary)

    p = sub.add_parser("train", parents=[common, data], help="train a network headless")
    src = p.add_mutually_exclusive_group()
    src.add_argument("--preset", choices=list(PRESETS),
                     help=f"reference network (default {DEFAULT_PRESET})")
    src.add_argument("--network", help="network .json or .cnnviz file")
    p.add_argument("--dataset", default=DEFAULT_DATASET)
    p.add_argument("--epochs", type=int, help="default: the preset's")
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--lr", type=float, help="learning rate (default: the preset's)")
    p.add_argument("--optimizer", choices=OPTIMIZERS, default="adam")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--validation-fraction", type=float, default=0.1)
    p.add_argument("--augment", help=f"comma-separated: {','.join(AUGMENTATIONS)}")
    p.add_argument("--out", help="save the trained project here (.cnnviz)")
    p.set_defaults(func=cmd_train)

    p = sub.add_parser("evaluate", parents=[common, data], help="test accuracy of a project")
    p.add_argument("file", help="a trained .cnnviz project")
    p.add_argument("--dataset", help="default: the one it was trained on")
    p.set_defaults(func=cmd_evaluate)

    p = sub.add_parser("presets", parents=[common], help="list the reference networks")
    p.set_defaults(func=cmd_presets)
    p = sub.add_parser("datasets", parents=[common], help="list datasets and their cache state")
    p.add_argument("--data-dir", help="also look for files here")
    p.set_defaults(func=cmd_datasets)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        from cnnviz.qt.app import main as gui_main

        return gui_main([])
    try:
        return args.func(args)
    except (CliError, *USER_ERRORS) as exc:
        print(f"\ncnnviz {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("\ninterrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
