"""A trained network to fine-tune, read from a file: a project with weights (its runs
and settings too), or any model file File > Import reads (e.g. Keras')."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from cnnviz.core.config import TrainConfig
from cnnviz.core.i18n import tr
from cnnviz.core.network import NetworkSpec
from cnnviz.core.runs import Run, Weights, source_text, with_current
from cnnviz.io.imports import import_model
from cnnviz.io.project import SUFFIX, Project, load_project


class UntrainedError(ValueError):
    """A project without weights: there is nothing to fine-tune."""


@dataclass(frozen=True)
class Trained:
    """What a run fine-tuned from it calls it (`name`), its network and weights, the
    settings, dataset and runs of its project, and its classes if the file names them."""

    name: str
    spec: NetworkSpec
    weights: Weights
    config: TrainConfig = field(default_factory=TrainConfig)
    dataset: str | None = None
    runs: list[Run] = field(default_factory=list)
    class_names: tuple[str, ...] | None = None


def trained_project(project: Project, name: str) -> Trained:
    """`project` (which must have weights) as a starting point, its current training
    among its runs."""
    if project.weights is None:
        raise UntrainedError(tr("{name} holds an untrained network (no weights): train it "
                                "first, then fine-tune it", name=name))
    runs, _ = with_current(project.runs, project.spec, project.config, project.dataset,
                           project.history, project.per_class, project.weights)
    return Trained(source_text(name, project.dataset), project.spec,
                   project.weights, project.config, project.dataset, runs)


def read_trained(path: str | Path) -> Trained:
    """The trained network in `path`; ProjectFileError, ModelImportError or
    UntrainedError, saying why, if there is none."""
    path = Path(path)
    if path.suffix != SUFFIX:
        imported = import_model(path)
        return Trained(imported.source, imported.spec, imported.weights,
                       dataset=imported.dataset, class_names=imported.class_names)
    return trained_project(load_project(path), path.name)

