"""``faceqa models``: the model registry with availability."""

from __future__ import annotations

import argparse

from faceqa.cli.output import print_json
from faceqa.models import models_table


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``models`` subcommand."""
    p = sub.add_parser("models", help="list every model, its licence and whether it is installed")
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Print the registry."""
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
