"""`export` and `import`: a trained project as files other tools read (and code that
runs it there), and a network made elsewhere as a project."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from cnnviz.cli.common import CliError, Parents, emit, read_network
from cnnviz.core.i18n import tr
from cnnviz.core.presets import PRESETS, get_preset
from cnnviz.core.summary import summary_table
from cnnviz.data.dataset import DatasetError
from cnnviz.data.registry import FOLDER_PREFIX, list_datasets, load_dataset
from cnnviz.io.compression import CompressionFileError, compressed_record, int8_quantization
from cnnviz.io.export import ExportError, Trained, export_model
from cnnviz.io.export.bundle import INT8_ONNX, KNOWN, available_formats
from cnnviz.io.export.manifest import default_class_names
from cnnviz.io.imports import ModelImportError, import_model
from cnnviz.io.imports.dataset_choice import pick_dataset
from cnnviz.io.project import Project, load_project, save_project

ALL = "all"


def _formats(text: str, trained: Trained) -> list[str]:
    """The formats asked for; `all`: every one this model has (onnx-int8 if quantized)."""
    names = [f.strip() for f in text.split(",") if f.strip()]
    return available_formats(trained) if names == [ALL] else names


def _test_images(project: Project, classes: int):
    """The project's dataset's class names and test images, if it loads without a
    download; else generic names, no images (the export then stores random pixels)."""
    name = project.dataset
    known = {info.name: info for info in list_datasets()}
    if name.startswith(FOLDER_PREFIX) or (name in known and known[name].cached()):
        try:
            data = load_dataset(name, seed=project.config.seed,
                                validation_fraction=project.config.validation_fraction)
        except DatasetError as exc:
            print(tr("note: {name} did not load ({reason}); the samples are random pixels",
                     name=name, reason=exc), file=sys.stderr)
        else:
            if data.num_classes == classes and data.input_shape == tuple(
                    project.spec.input_shape):
                return data.class_names, data.x_test
    return default_class_names(classes), None


def cmd_export(args: argparse.Namespace) -> int:
    project = load_project(args.file)
    if project.weights is None:
        raise CliError(tr("{file} holds an untrained network (no weights); train it first",
                          file=args.file))
    try:
        quantization = int8_quantization(compressed_record(project), project.spec,
                                         project.weights)
    except CompressionFileError as exc:
        raise CliError(tr("{file}: {reason}", file=args.file, reason=exc)) from None
    analysis = project.spec.check()
    class_names, images = _test_images(project, analysis.output_shape[0])
    trained = Trained.from_history(project.spec, project.weights, tuple(class_names),
                                   project.dataset, project.history, quantization)
    formats = _formats(args.format, trained)
    try:
        out = export_model(trained, formats, args.out, model_name=Path(args.file).stem,
                           images=images)
    except ExportError as exc:
        raise CliError(str(exc)) from None
    emit(args, {"event": "export", "out": str(out), "formats": formats})
    if not args.json:
        print(tr("exported {file} to {out}", file=args.file, out=out))
    return 0


def _network(args: argparse.Namespace):
    if args.network:
        return read_network(args.network)
    return get_preset(args.preset).spec if args.preset else None


def cmd_import(args: argparse.Namespace) -> int:
    try:
        imported = import_model(args.path, _network(args))
    except ModelImportError as exc:
        raise CliError(str(exc)) from None
    dataset = args.dataset or pick_dataset(imported, list_datasets()) or "shapes"
    save_project(args.out, Project(imported.spec, dataset=dataset, weights=imported.weights))
    if args.json:
        emit(args, {"event": "import", "source": imported.source, "out": args.out,
                    "network": imported.spec.to_dict(), "dataset": dataset,
                    "params": imported.spec.analyze().total_params,
                    "class_names": imported.class_names, "notes": list(imported.notes)})
        return 0
    print(summary_table(imported.spec))
    for note in imported.notes:
        print(tr("note: {note}", note=note))
    print(tr("saved {out} (dataset {dataset})", out=args.out, dataset=dataset))
    return 0


def register(sub: argparse._SubParsersAction, parents: Parents) -> None:
    p = sub.add_parser("export", parents=[parents.json],
                       help=tr("trained weights as npz / safetensors / ONNX, or as a PyTorch, "
                               "Keras or JAX script"))
    p.add_argument("file", help=tr("a trained .cnnviz project"))
    p.add_argument("--format", default=ALL,
                   help=tr("comma-separated: {formats} ({int8}: int8 weights and "
                           "QuantizeLinear / DequantizeLinear, for a project quantized to "
                           "int8), or {all} (the default: every format the project has)",
                           formats=", ".join(KNOWN), int8=INT8_ONNX, all=ALL))
    p.add_argument("--out", required=True,
                   help=tr("the export's folder, or a .zip file to put that folder in"))
    p.set_defaults(func=cmd_export)

    p = sub.add_parser("import", parents=[parents.json],
                       help=tr("a Keras (.keras, .h5), ONNX or cnnviz export as a project"))
    p.add_argument("path", help=tr("a .keras, .h5, .weights.h5, .onnx, .safetensors, .npz or "
                                   ".zip file, or an export folder"))
    src = p.add_mutually_exclusive_group()
    src.add_argument("--network", help=tr("the network a weights-only file belongs to "
                                          "(.json or .cnnviz)"))
    src.add_argument("--preset", choices=list(PRESETS),
                     help=tr("the network a weights-only file belongs to"))
    p.add_argument("--dataset", help=tr("the dataset the project uses (default: one that fits)"))
    p.add_argument("--out", required=True, help=tr("the project to write (.cnnviz)"))
    p.set_defaults(func=cmd_import)
