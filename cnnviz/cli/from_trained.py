"""`train --from FILE`: fine-tuning a trained network (a project, or a model file that
File > Import reads, e.g. Keras') on other data, as core.fine_tune plans it."""

from __future__ import annotations

from cnnviz.cli.common import CliError
from cnnviz.core.fine_tune import (
    FineTuneError,
    FineTunePlan,
    InputMismatch,
    needs_new_head,
    plan_fine_tune,
)
from cnnviz.core.i18n import tr
from cnnviz.core.shapes import fmt_shape
from cnnviz.data.dataset import Dataset
from cnnviz.data.registry import known_classes, list_datasets
from cnnviz.io.imports import ModelImportError
from cnnviz.io.trained import Trained, UntrainedError, read_trained


def read(path: str) -> Trained:
    try:
        return read_trained(path)
    except (ModelImportError, UntrainedError) as exc:
        raise CliError(str(exc)) from None


def plan(trained: Trained, dataset: Dataset, frozen: int | None, new_head: bool,
         seed: int) -> FineTunePlan:
    """How `trained` fine-tunes on `dataset`. CliError, naming the data that would fit,
    if it cannot."""
    classes = trained.class_names or known_classes(trained.dataset)
    try:
        return plan_fine_tune(trained.spec, trained.weights, dataset.input_shape,
                              dataset.num_classes, frozen=frozen, seed=seed,
                              new_head=new_head or needs_new_head(classes, dataset.class_names))
    except FineTuneError as exc:
        fitting = [info.name for info in list_datasets()
                   if info.input_shape == tuple(trained.spec.input_shape)]
        hint = (tr(" (data of that size: {names})", names=", ".join(fitting))
                if fitting and isinstance(exc, InputMismatch) else "")
        raise CliError(tr("cannot fine-tune {source} on {dataset}: {reason}{hint}",
                          source=trained.name, dataset=dataset.name, reason=exc,
                          hint=hint)) from None


def plan_line(plan: FineTunePlan, learning_rate: float) -> str:
    frozen = ", ".join(plan.frozen_names) or tr("none")
    return tr("fine-tuning: {head} {what}; frozen: {frozen} ({count} of {total} layers with "
              "weights); input {shape}; learning rate {rate:g}", head=plan.head,
              what=tr("new, for the new classes") if plan.new_head else tr("kept"),
              frozen=frozen, count=plan.frozen, total=len(plan.weighted),
              shape=fmt_shape(plan.spec.input_shape), rate=learning_rate)
