"""The ``faceqa`` command: one module per subcommand under ``faceqa/cli/``.

Every module here except ``main`` and ``output`` is a subcommand and defines
``register(subparsers)``, which adds its parser and sets ``func`` (called with the parsed
args; returns an exit code). Errors a user can cause
(``FaceQAError``) print one line and exit with code 2; so does any other exception that escapes a
command (the traceback is logged only with ``-v``), and so do argparse usage errors. Every
``int``/``float`` option of every subcommand is validated (:func:`faceqa.cli._args.harden`): no
``inf``, ``nan``, huge or negative numbers reach a command. ``-v``/``-q``, before or after the
subcommand, set what else is printed (:mod:`faceqa.log`).
"""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import pkgutil
import sys
from typing import NoReturn

from faceqa import __version__
from faceqa.cli._args import harden
from faceqa.errors import FaceQAError
from faceqa.log import configure


def subcommand_modules() -> list[str]:
    """Names of the modules under faceqa.cli that define a subcommand (have ``register``)."""
    import faceqa.cli as pkg

    names = []
    for info in pkgutil.iter_modules(pkg.__path__):
        if info.name not in ("main", "output") and not info.name.startswith("_"):
            names.append(info.name)
    return sorted(names)


def add_verbosity(parser: argparse.ArgumentParser, default: object = 0) -> None:
    """Add ``-v``/``--verbose`` and ``-q``/``--quiet`` (counted)."""
    parser.add_argument("-v", "--verbose", action="count", default=default,
                        help="also print faceqa's progress messages and other libraries' warnings (-vv: everything)")
    parser.add_argument("-q", "--quiet", action="count", default=default,
                        help="print only results and errors (no progress bars)")


class Parser(argparse.ArgumentParser):
    """argparse with faceqa's one-line errors (``faceqa: error: ...``, exit code 2) instead of the usage text;
    the subcommands' parsers are of this class too."""

    def error(self, message: str) -> NoReturn:
        """Print one line naming the problem and where the usage is, and exit with code 2."""
        self.exit(2, f"faceqa: error: {' '.join(message.split())} (usage: {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    """The full argument parser with every subcommand registered."""
    parser = Parser(prog="faceqa", description="Answer questions about faces in images and videos.")
    parser.add_argument("--version", action="version", version=f"faceqa {__version__}")
    add_verbosity(parser)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    for name in subcommand_modules():
        module = importlib.import_module(f"faceqa.cli.{name}")
        if hasattr(module, "register"):
            module.register(sub)
    for command in sub.choices.values():  # -v/-q after the subcommand too, without resetting one given before
        add_verbosity(command, argparse.SUPPRESS)
    harden(parser)
    return parser


def unexpected_error(exc: BaseException) -> str:
    """One line for an exception that is not a FaceQAError (a library's error on odd input, or a bug)."""
    if isinstance(exc, OSError) and exc.filename is not None:  # a file system refusal, named by its path
        from faceqa.safeio import os_error

        return str(os_error(exc.filename, exc, "cannot use this path"))
    if isinstance(exc, RecursionError):
        return "input nested too deeply to read"
    if isinstance(exc, MemoryError):
        return "out of memory (the input is too large)"
    text = " ".join(str(exc).split()) or "no message"
    if len(text) > 300:
        text = text[:300] + "..."
    return f"unexpected {type(exc).__name__}: {text} (run with -v for the traceback)"


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``faceqa`` console script."""
    for stream in (sys.stdout, sys.stderr):  # a file name that is not UTF-8 is printed, not a crash
        if hasattr(stream, "reconfigure"):
            stream.reconfigure(errors="backslashreplace")
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # a usage error (argparse printed it) or --help/--version: the same code, returned
        return exc.code if isinstance(exc.code, int) else 2
    configure(args.verbose - args.quiet)
    if args.quiet and hasattr(args, "no_progress"):
        args.no_progress = True
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
    except Exception as exc:  # noqa: BLE001 - the last line of defence: one line, never a traceback
        logging.getLogger("faceqa").info("traceback of the error below", exc_info=True)
        print(f"faceqa: error: {unexpected_error(exc)}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
