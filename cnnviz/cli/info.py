"""`summary`, `presets` and `datasets`: what a network, the presets and the datasets are,
without training anything."""

from __future__ import annotations

import argparse
from dataclasses import asdict
from pathlib import Path

from cnnviz.cli.common import Parents, emit, network_arg, read_network
from cnnviz.core.compression import layer_sparsity
from cnnviz.core.config import TrainConfig
from cnnviz.core.i18n import tr
from cnnviz.core.memory import available_memory, training_memory
from cnnviz.core.network import NetworkSpec
from cnnviz.core.presets import PRESETS
from cnnviz.core.summary import summary_table
from cnnviz.data.registry import list_datasets
from cnnviz.io.compression import MASKS
from cnnviz.io.project import SUFFIX, load_project


def _pruned_sparsity(path: str) -> tuple[NetworkSpec, dict[str, float] | None]:
    """A project's network and, if it is pruned (it keeps pruning masks), the share of
    each weighted layer's kernel that is exactly zero."""
    project = load_project(path)
    if MASKS not in project.extras or project.weights is None:
        return project.spec, None
    return project.spec, {r.name: r.sparsity for r in layer_sparsity(project.spec,
                                                                      project.weights)}


def cmd_summary(args: argparse.Namespace) -> int:
    sparsity = None
    if args.file and args.file.endswith(SUFFIX):
        spec, sparsity = _pruned_sparsity(args.file)
    else:
        spec = read_network(args.file) if args.file else network_arg(args)
    analysis = spec.analyze()
    defaults, free = TrainConfig(), available_memory()
    memory = training_memory(analysis, spec.input_shape, defaults.batch_size,
                             defaults.optimizer) if analysis.ok else None
    if args.json:
        emit(args, {"event": "summary", "network": spec.to_dict(),
                    "layers": [{"name": i.name, "output_shape": i.out_shape,
                                "params": i.params, "macs": i.macs, "error": i.error,
                                **({"sparsity": sparsity[i.name]}
                                   if sparsity and i.name in sparsity else {})}
                               for i in analysis.layers],
                    "total_params": analysis.total_params, "total_macs": analysis.total_macs,
                    "training_memory": {"batch_size": defaults.batch_size,
                                        "optimizer": defaults.optimizer, **asdict(memory),
                                        "total": memory.total, "free": free}
                    if memory else None,
                    "problems": [str(p) for p in analysis.problems]})
    else:
        print(summary_table(spec, analysis, free=free, sparsity=sparsity))
    return 0 if analysis.ok else 2


def cmd_presets(args: argparse.Namespace) -> int:
    for preset in PRESETS.values():
        analysis = preset.spec.analyze()
        if args.json:
            emit(args, {"event": "preset", "name": preset.name,
                        "description": str(preset.description),
                        "input_shape": preset.spec.input_shape,
                        "params": analysis.total_params})
        else:
            print(tr("{name:15} {params:>9,} params  {description}", name=preset.name,
                     params=analysis.total_params, description=preset.description))
    return 0


def cmd_datasets(args: argparse.Namespace) -> int:
    data_dir = Path(args.data_dir).expanduser() if args.data_dir else None
    for info in list_datasets():
        cached = info.cached(data_dir)
        if args.json:
            emit(args, {"event": "dataset", "name": info.name,
                        "description": str(info.description),
                        "input_shape": info.input_shape, "classes": info.num_classes,
                        "size": info.size, "builtin": info.builtin, "cached": cached})
        else:
            where = (tr("built-in") if info.builtin else
                     tr("cached") if cached else tr("download"))
            print(tr("{name:15} {shape:>9} {classes:>3} classes {images:>7,} images  "
                     "{where:9} {description}", name=info.name,
                     shape="x".join(map(str, info.input_shape)), classes=info.num_classes,
                     images=info.size, where=where, description=info.description))
    return 0


def register(sub: argparse._SubParsersAction, parents: Parents) -> None:
    p = sub.add_parser("summary", parents=[parents.json],
                       help=tr("layer table with shapes and counts"))
    p.add_argument("file", nargs="?", help=tr("a .cnnviz project or network .json"))
    src = p.add_mutually_exclusive_group()
    src.add_argument("--preset", choices=list(PRESETS))
    src.add_argument("--network", help=tr("network .json file"))
    p.set_defaults(func=cmd_summary)

    p = sub.add_parser("presets", parents=[parents.json],
                       help=tr("list the reference networks"))
    p.set_defaults(func=cmd_presets)
    p = sub.add_parser("datasets", parents=[parents.json],
                       help=tr("list datasets and their cache state"))
    p.add_argument("--data-dir", help=tr("also look for files here"))
    p.set_defaults(func=cmd_datasets)
