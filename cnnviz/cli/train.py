"""`train` and `evaluate`: a network trained headless on a dataset, and a trained
project's accuracy on a test set."""

from __future__ import annotations

import argparse
import contextlib
import math
import signal
import sys
import threading
from collections.abc import Iterator
from dataclasses import asdict, replace

from cnnviz.cli import from_trained
from cnnviz.cli.common import CliError, Parents, StatusLine, emit, load_data, network_arg
from cnnviz.core.commands import Stop
from cnnviz.core.config import AUGMENTATIONS, MONITORS, OPTIMIZERS, SCHEDULES, TrainConfig
from cnnviz.core.divergence import (
    HUGE_WEIGHT,
    explain_divergence,
    explain_explosion,
    explain_huge_weights,
    largest_weight,
)
from cnnviz.core.early_stopping import restored_line, stop_reason
from cnnviz.core.fine_tune import suggested_learning_rate
from cnnviz.core.history import BEST_RESTORED, DIVERGED, EARLY_STOPPED, INTERRUPTED, Halt
from cnnviz.core.i18n import tr
from cnnviz.core.memory import available_memory, too_much, training_memory
from cnnviz.core.presets import DEFAULT_PRESET, PRESETS, get_preset
from cnnviz.core.progress import epoch_line
from cnnviz.core.runs import FINE_TUNED, new_run
from cnnviz.core.snapshot import COMPILING, RUNNING
from cnnviz.data.registry import DEFAULT_DATASET
from cnnviz.io.atomic import check_target
from cnnviz.io.project import Project, load_project, save_project

EXIT_DIVERGED = 3  # training stopped because the loss stopped being a finite number
EXIT_INTERRUPTED = 130  # what a shell reports for Ctrl+C


@contextlib.contextmanager
def stop_on_interrupt(trainer, status: StatusLine) -> Iterator[list[bool]]:
    """While training: the first Ctrl+C asks the trainer to stop after its current step
    (so that what it trained can be saved); a second one interrupts at once. Yields a
    list that holds True once the user asked to stop."""
    asked: list[bool] = []
    if threading.current_thread() is not threading.main_thread():
        yield asked  # signal handlers belong to the main thread
        return

    def handler(signum, frame) -> None:
        if asked:
            raise KeyboardInterrupt
        asked.append(True)
        trainer.command(Stop())
        status.note(tr("stopping after this step to save what was trained "
                       "(Ctrl+C again to quit without saving)"))

    previous = signal.signal(signal.SIGINT, handler)
    try:
        yield asked
    finally:
        signal.signal(signal.SIGINT, previous)


def _train(args: argparse.Namespace, trainer, status: StatusLine) -> None:
    """Run `trainer`, showing its progress: a line per epoch (and, on a terminal, the
    epoch's progress in place), a warning once if the loss explodes."""
    config, warned = trainer.config, False
    for snap in trainer.run():
        watch = trainer.watch
        if not warned and watch.exploded_at is not None:
            warned = True
            message = explain_explosion(watch.exploded_at, watch.exploded_loss,
                                        trainer.learning_rate, config.optimizer)
            emit(args, {"event": "warning", "step": watch.exploded_at,
                        "loss": watch.exploded_loss, "message": message})
            if not args.json:
                status.note(tr("warning: {message}", message=message))
        if args.json:
            if snap.epoch_done:
                emit(args, {"event": "epoch", "epoch": snap.epoch + 1,
                            **trainer.history.epochs[-1]})
            continue
        if snap.epoch_done:
            stats = trainer.history.epochs[-1]
            rate = "" if config.schedule == "constant" else f" - lr: {stats['learning_rate']:.3g}"
            status.line(tr("Epoch {epoch}/{epochs}", epoch=snap.epoch + 1,
                           epochs=config.epochs) + "  " + epoch_line(
                snap.steps_per_epoch, snap.steps_per_epoch, stats["seconds"],
                {k: stats[k] for k in ("loss", "accuracy", "val_loss", "val_accuracy")})
                + rate)
        elif snap.state == COMPILING:
            status.show(tr("compiling..."))
        elif snap.state == RUNNING:
            done = snap.step - snap.epoch * snap.steps_per_epoch
            recent = trainer.history.step_loss[-done:] if done else [0.0]
            status.show(tr("Epoch {epoch}/{epochs}", epoch=snap.epoch + 1,
                           epochs=config.epochs) + "  " + epoch_line(
                done, snap.steps_per_epoch, 0.0, {"loss": sum(recent) / len(recent)},
                eta=snap.eta_seconds))


def cmd_train(args: argparse.Namespace) -> int:
    # JAX starts here, not for --help
    from cnnviz.engine.inspect import host_tree
    from cnnviz.engine.resume import kept_leaves
    from cnnviz.engine.trainer import Trainer, evaluate

    if args.out:
        check_target(args.out)  # before the work whose result goes there
    if (args.freeze is not None or args.new_head) and not args.from_file:
        raise CliError(tr("--freeze and --new-head fine-tune a trained network: give it "
                          "with --from FILE"))
    trained = from_trained.read(args.from_file) if args.from_file else None
    preset = (get_preset(args.preset or DEFAULT_PRESET)
              if not args.network and trained is None else None)
    config = TrainConfig(
        optimizer=args.optimizer,
        learning_rate=args.lr if args.lr is not None else (
            preset.learning_rate if preset else
            trained.config.learning_rate if trained else 1e-3),
        batch_size=args.batch_size,
        epochs=args.epochs if args.epochs is not None else (preset.epochs if preset else 5),
        seed=args.seed,
        validation_fraction=args.validation_fraction,
        augment=tuple(a for a in (args.augment or "").split(",") if a),
        weight_decay=args.weight_decay, early_stopping=args.early_stopping,
        monitor=args.monitor, patience=args.patience, min_delta=args.min_delta,
        restore_best=not args.keep_last, schedule=args.schedule,
        decay_factor=args.decay_factor, decay_epochs=args.decay_epochs,
        warmup_epochs=args.warmup_epochs)
    dataset = load_data(args, args.dataset, config.seed, config.validation_fraction,
                        args.per_class)
    weights = None
    if trained is not None:
        plan = from_trained.plan(trained, dataset, args.freeze, args.new_head, config.seed)
        spec, weights = plan.spec, plan.weights
        if args.lr is None:
            config = replace(config, learning_rate=suggested_learning_rate(
                config.learning_rate, plan))
        emit(args, {"event": "fine_tune", "source": trained.name, "new_head": plan.new_head,
                    "frozen": list(plan.frozen_names), "learning_rate": config.learning_rate})
        if not args.json:
            print(from_trained.plan_line(plan, config.learning_rate))
    else:
        spec = network_arg(args)
        if preset is not None:  # a preset takes the data's input shape and classes
            spec = spec.adapted(dataset.input_shape, dataset.num_classes)
        elif tuple(spec.input_shape) != dataset.input_shape:
            raise CliError(tr("the network takes {shape} images but {name} has {data}; "
                              "change input_shape or pick other data", shape=spec.input_shape,
                              name=dataset.name, data=dataset.input_shape))
    analysis = spec.check(dataset.num_classes)
    problem = too_much(training_memory(analysis, spec.input_shape, config.batch_size,
                                       config.optimizer, len(dataset.x_train)),
                       available_memory())
    if problem:  # refused before anything is compiled or allocated
        raise CliError(problem)
    status = StatusLine(sys.stdout)
    if not args.json:
        print(tr("{name}: {train:,} train, {val:,} validation, {test:,} test; {params:,} "
                 "parameters", name=dataset.name, train=len(dataset.x_train),
                 val=len(dataset.x_val), test=len(dataset.x_test),
                 params=analysis.total_params))
    trainer = Trainer(spec, dataset, config, params=weights)
    with stop_on_interrupt(trainer, status) as interrupted:
        _train(args, trainer, status)
    history = trainer.history
    halt = history.halts[-1] if history.halts else None  # this run's: it started afresh
    if halt is not None and halt.reason in (EARLY_STOPPED, BEST_RESTORED):
        _early_stop(args, status, trainer, halt)
        halt = None
    if halt is not None and halt.reason == DIVERGED:
        message = explain_divergence(halt)
        emit(args, {"event": "diverged", **asdict(halt), "message": message})
        if not args.json:
            status.note(tr("cnnviz train: {message}", message=message))
    elif interrupted:
        history.halts.append(Halt(INTERRUPTED, history.steps))
        emit(args, {"event": "interrupted", "step": history.steps})
    test_loss = test_acc = None
    if len(dataset.x_test):
        test_loss, test_acc = evaluate(spec, trainer.params, dataset.x_test, dataset.y_test)
    # a run that diverged before any finite progress has nothing worth a file
    worth_saving = halt is None or (halt.weights_step or 0) > 0
    saved = args.out if args.out and worth_saving else None
    if saved:
        final = trainer.numpy_params()
        runs = trained.runs if trained else []
        run = new_run(runs, spec, config, args.dataset, history, per_class=args.per_class,
                      test_loss=test_loss, test_accuracy=test_acc, weights=final,
                      steps_per_epoch=trainer.steps_per_epoch,
                      **({"kind": FINE_TUNED, "source": trained.name} if trained else {}))
        # with the optimizer's state, so that the window continues the run as it was
        state = kept_leaves(config.optimizer, history.steps, host_tree(trainer.opt_state))
        save_project(saved, Project(spec, config, args.dataset, final, history,
                                    runs=[*runs, run], per_class=args.per_class,
                                    optimizer_state=state))
    emit(args, {"event": "done", "test_loss": test_loss, "test_accuracy": test_acc,
                "steps": history.steps, "saved": saved})
    if not args.json:
        _report(status, test_loss, test_acc, saved, args.out, halt, bool(interrupted))
    if halt is not None:
        return EXIT_DIVERGED
    return EXIT_INTERRUPTED if interrupted else 0


def _early_stop(args: argparse.Namespace, status: StatusLine, trainer, halt: Halt) -> None:
    """Why the run stopped early, and which epoch's weights it kept."""
    config, spe = trainer.config, trainer.steps_per_epoch
    best_epoch = (halt.best_step or spe) // spe - 1
    restored = halt.weights_step == halt.best_step
    watch = trainer.stopping.watch
    if halt.reason == EARLY_STOPPED:
        message = stop_reason(config, halt.step // spe - 1, best_epoch, watch.best, restored)
    else:
        message = restored_line(config, best_epoch, watch.best)
    emit(args, {"event": "early_stopped" if halt.reason == EARLY_STOPPED else
                "best_restored", "stopped_epoch": halt.step // spe,
                "best_epoch": best_epoch + 1, "restored": restored, "message": message})
    if not args.json:
        status.line(message)


def _report(status: StatusLine, test_loss: float | None, test_acc: float | None,
            saved: str | None, out: str | None, halt: Halt | None, interrupted: bool) -> None:
    if test_loss is None:
        status.line(tr("no test: the test split is empty"))
    else:
        status.line(tr("test loss: {loss:.4f} - test accuracy: {accuracy:.4f}",
                       loss=test_loss, accuracy=test_acc))
    if saved and halt is not None:
        status.line(tr("saved {path} with the weights after step {step:,}, the last finite "
                       "ones", path=saved, step=halt.weights_step or 0))
    elif saved and interrupted:
        status.line(tr("saved {path} (interrupted: what was trained until then, marked so "
                       "in its history)", path=saved))
    elif saved:
        status.line(tr("saved {path}", path=saved))
    elif out:
        status.line(tr("nothing saved: no step trained to finite weights; {path} is as it "
                       "was", path=out))


def cmd_evaluate(args: argparse.Namespace) -> int:
    from cnnviz.engine.trainer import evaluate

    project = load_project(args.file)
    if project.weights is None:
        raise CliError(tr("{file} holds an untrained network (no weights)", file=args.file))
    name = args.dataset or project.dataset
    dataset = load_data(args, name, project.config.seed, project.config.validation_fraction)
    if tuple(project.spec.input_shape) != dataset.input_shape:
        raise CliError(tr("the network takes {shape} images but {name} has {data}",
                          shape=project.spec.input_shape, name=name, data=dataset.input_shape))
    project.spec.check(dataset.num_classes)
    if not len(dataset.x_test):
        raise CliError(tr("{name} has no test images (its test split is empty)", name=name))
    loss, acc = evaluate(project.spec, project.weights, dataset.x_test, dataset.y_test)
    why = None
    if not math.isfinite(loss):
        largest = largest_weight(project.weights)
        why = (explain_huge_weights(largest) if largest > HUGE_WEIGHT else
               tr("The loss is not a number for these weights and images."))
    if args.json:
        emit(args, {"event": "evaluate", "dataset": name, "test_loss": loss,
                    "test_accuracy": acc, "examples": len(dataset.x_test),
                    **({"message": why} if why else {})})
    else:
        print(tr("{name} test set ({count:,} images): loss {loss:.4f} - accuracy "
                 "{accuracy:.4f}", name=name, count=len(dataset.x_test), loss=loss,
                 accuracy=acc))
        if why:
            print(tr("note: {message}", message=why), file=sys.stderr)
    return 0


def register(sub: argparse._SubParsersAction, parents: Parents) -> None:
    p = sub.add_parser("train", parents=[parents.json, parents.data],
                       help=tr("train a network headless"))
    src = p.add_mutually_exclusive_group()
    src.add_argument("--preset", choices=list(PRESETS),
                     help=tr("reference network (default {preset})", preset=DEFAULT_PRESET))
    src.add_argument("--network", help=tr("network .json or .cnnviz file"))
    src.add_argument("--from", dest="from_file", metavar="FILE",
                     help=tr("fine-tune this trained project (or model file, e.g. .keras) "
                             "on --dataset: a new head when the classes differ, the layers before "
                             "it frozen"))
    p.add_argument("--dataset", default=DEFAULT_DATASET)
    p.add_argument("--epochs", type=int, help=tr("default: the preset's"))
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--lr", type=float, help=tr("learning rate (default: the preset's)"))
    p.add_argument("--optimizer", choices=OPTIMIZERS, default="adam")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--validation-fraction", type=float, default=0.1)
    p.add_argument("--augment", help=tr("comma-separated: {names}",
                                        names=",".join(AUGMENTATIONS)))
    p.add_argument("--weight-decay", type=float, default=0.0, metavar="WD",
                   help=tr("decay of the kernels: decoupled (AdamW) for adam and rmsprop, L2 "
                           "for sgd-momentum (default 0)"))
    p.add_argument("--early-stopping", action="store_true",
                   help=tr("stop when --monitor has not improved for --patience epochs and "
                           "keep the best epoch's weights"))
    p.add_argument("--monitor", choices=MONITORS, default="val_loss",
                   help=tr("what early stopping and --schedule plateau watch"))
    p.add_argument("--patience", type=int, default=3, help=tr("epochs (default 3)"))
    p.add_argument("--min-delta", type=float, default=0.0,
                   help=tr("the least change that counts as an improvement (default 0)"))
    p.add_argument("--keep-last", action="store_true",
                   help=tr("with --early-stopping: keep the last epoch's weights, not the best"))
    p.add_argument("--schedule", choices=SCHEDULES, default="constant",
                   help=tr("the learning rate over the run (default constant)"))
    p.add_argument("--decay-factor", type=float, default=0.5,
                   help=tr("step, exponential, plateau: each decay multiplies the rate by it"))
    p.add_argument("--decay-epochs", type=int, default=2,
                   help=tr("step: epochs between decays; exponential: epochs per factor; "
                           "plateau: epochs without improvement before a decay"))
    p.add_argument("--warmup-epochs", type=int, default=1,
                   help=tr("warmup-cosine: epochs of the linear warm-up"))
    p.add_argument("--per-class", type=int, metavar="N",
                   help=tr("train on N images of each class (a seeded slice of the training "
                           "split; validation and test stay whole)"))
    p.add_argument("--freeze", type=int, metavar="K",
                   help=tr("with --from: the first K layers with weights stay frozen "
                           "(default: all but the head)"))
    p.add_argument("--new-head", action="store_true",
                   help=tr("with --from: replace the last Dense layer even if the classes "
                           "are as many"))
    p.add_argument("--out", help=tr("save the trained project here (.cnnviz)"))
    p.set_defaults(func=cmd_train)

    p = sub.add_parser("evaluate", parents=[parents.json, parents.data],
                       help=tr("test accuracy of a project"))
    p.add_argument("file", help=tr("a trained .cnnviz project"))
    p.add_argument("--dataset", help=tr("default: the one it was trained on"))
    p.set_defaults(func=cmd_evaluate)
