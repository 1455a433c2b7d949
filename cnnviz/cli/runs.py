"""`runs`: the training runs a project keeps, as a table of their final figures (or
each figure's difference to one of them), or one JSON object per run."""

from __future__ import annotations

import argparse

from cnnviz.cli.common import CliError, Parents, emit
from cnnviz.core.i18n import tr
from cnnviz.core.runs import about, data_text, differences, runs_table, with_current
from cnnviz.io.project import load_project


def cmd_runs(args: argparse.Namespace) -> int:
    project = load_project(args.file)
    runs, _ = with_current(project.runs, project.spec, project.config, project.dataset,
                           project.history, project.per_class, project.weights)
    against = None
    if args.against is not None:
        against = next((run for run in runs if run.number == args.against), None)
        if against is None:
            raise CliError(tr("{path} has no run {number} (it has {numbers})", path=args.file,
                              number=args.against,
                              numbers=", ".join(str(r.number) for r in runs) or tr("none")))
    if args.json:
        for run in runs:
            emit(args, {"event": "run", "number": run.number, "name": run.name,
                        "kind": run.kind, "source": run.source, "dataset": run.dataset,
                        "per_class": run.per_class, "data": data_text(run),
                        "epochs": len(run.training().epochs), "steps": run.training().steps,
                        "config": run.config.to_dict(), "about": about(run),
                        "has_weights": run.weights is not None, "final": run.final(),
                        **({"against": against.number,
                            "differences": differences(against, run)} if against else {})})
    elif not runs:
        print(tr("{path}: no runs yet (nothing was trained)", path=args.file))
    else:
        print(runs_table(runs, against))
    return 0


def register(sub: argparse._SubParsersAction, parents: Parents) -> None:
    p = sub.add_parser("runs", parents=[parents.json],
                       help=tr("the training runs a project keeps, side by side"))
    p.add_argument("file", help=tr("a .cnnviz project"))
    p.add_argument("--against", type=int, metavar="NUMBER",
                   help=tr("show each figure's difference to this run's"))
    p.set_defaults(func=cmd_runs)
