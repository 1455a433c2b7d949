"""`train` and `evaluate`: a network trained headless on a dataset, and a trained
project's accuracy on a test set."""

from __future__ import annotations

import argparse
import sys

from cnnviz.cli.common import CliError, Parents, emit, load_data, network_arg
from cnnviz.core.config import AUGMENTATIONS, OPTIMIZERS, TrainConfig
from cnnviz.core.presets import DEFAULT_PRESET, PRESETS, get_preset
from cnnviz.core.progress import epoch_line
from cnnviz.data.registry import DEFAULT_DATASET
from cnnviz.io.project import Project, load_project, save_project


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
    dataset = load_data(args, args.dataset, config.seed, config.validation_fraction)
    spec = network_arg(args)
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
                emit(args, {"event": "epoch", "epoch": snap.epoch + 1, **stats})
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
    emit(args, {"event": "done", "test_loss": test_loss, "test_accuracy": test_acc,
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
    dataset = load_data(args, name, project.config.seed, project.config.validation_fraction)
    if tuple(project.spec.input_shape) != dataset.input_shape:
        raise CliError(f"the network takes {project.spec.input_shape} images but {name} has "
                       f"{dataset.input_shape}")
    project.spec.check(dataset.num_classes)
    loss, acc = evaluate(project.spec, project.weights, dataset.x_test, dataset.y_test)
    if args.json:
        emit(args, {"event": "evaluate", "dataset": name, "test_loss": loss,
                    "test_accuracy": acc, "examples": len(dataset.x_test)})
    else:
        print(f"{name} test set ({len(dataset.x_test):,} images): loss {loss:.4f} - "
              f"accuracy {acc:.4f}")
    return 0


def register(sub: argparse._SubParsersAction, parents: Parents) -> None:
    p = sub.add_parser("train", parents=[parents.json, parents.data],
                       help="train a network headless")
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

    p = sub.add_parser("evaluate", parents=[parents.json, parents.data],
                       help="test accuracy of a project")
    p.add_argument("file", help="a trained .cnnviz project")
    p.add_argument("--dataset", help="default: the one it was trained on")
    p.set_defaults(func=cmd_evaluate)
