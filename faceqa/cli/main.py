"""The ``faceqa`` command: one module per subcommand under ``faceqa/cli/``.

Every module here except ``main`` and ``output`` is a subcommand and defines
``register(subparsers)``, which adds its parser and sets ``func`` (called with the parsed
args; returns an exit code). Errors a user can cause
(``FaceQAError``) print one line and exit with code 2.
"""

from __future__ import annotations

import argparse
import importlib
import os
import pkgutil
import sys

from faceqa import __version__
from faceqa.errors import FaceQAError


def subcommand_modules() -> list[str]:
    """Names of the modules under faceqa.cli that define a subcommand (have ``register``)."""
    import faceqa.cli as pkg

    names = []
    for info in pkgutil.iter_modules(pkg.__path__):
        if info.name not in ("main", "output") and not info.name.startswith("_"):
            names.append(info.name)
    return sorted(names)


def build_parser() -> argparse.ArgumentParser:
    """The full argument parser with every subcommand registered."""
    parser = argparse.ArgumentParser(
        prog="faceqa", description="Answer questions about faces in images and videos.")
    parser.add_argument("--version", action="version", version=f"faceqa {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    for name in subcommand_modules():
        module = importlib.import_module(f"faceqa.cli.{name}")
        if hasattr(module, "register"):
            module.register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``faceqa`` console script."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except FaceQAError as exc:
        print(f"faceqa: error: {exc}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # output piped into head & co.
        sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - silence the flush at exit
        return 0
    except KeyboardInterrupt:
        print("faceqa: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
