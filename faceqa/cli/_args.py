"""Validated number types for command-line options, applied to every subcommand by :func:`harden`.

``argparse``'s plain ``int`` and ``float`` accept ``inf``, ``nan``, ``1e308`` and any negative or
huge integer, which later crash or hang a command. :func:`harden` walks the whole parser (every
subcommand, including ones added later) and swaps them for checked types:

- every ``int`` option: a whole number in 0..2**31-1; options that count something (``--every``,
  ``--workers``, ``--top``, ...: :data:`POSITIVE_INTS`) at least 1;
- every ``float`` option: a finite number within +-1e9, at least 0 for sizes, times and thresholds;
  ``--fps`` in (0, 10000].

A bad value is an argparse usage error: one line naming the option, exit code 2.
:func:`parse_params` reads the repeatable ``--param NAME=VALUE`` options (values as JSON) for the
commands that take them; the command checks the names and values.
"""

from __future__ import annotations

import argparse
import json
import math
from collections.abc import Callable

from faceqa.errors import InvalidInputError
from faceqa.safeio import MAX_FPS

MAX_INT = 2**31 - 1
MAX_FLOAT = 1e9
POSITIVE_INTS = frozenset({"every", "max_faces", "top", "k", "blocks", "eval_frames", "folds", "steps", "workers",
                           "max_steps", "max_frames", "events_per_video", "batch_size"})
"""Integer options (by ``dest``) that must be at least 1."""
NONNEGATIVE_FLOATS = frozenset({"threshold", "strength", "margin", "hold", "max_file_mb", "max_duration",
                                "timeout", "time_limit"})
"""Float options (by ``dest``) that must be at least 0."""


def bounded_int(minimum: int = 0, maximum: int = MAX_INT) -> Callable[[str], int]:
    """An argparse type: a whole number in ``minimum..maximum``."""

    def parse(text: str) -> int:
        try:
            value = int(text.strip())
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r}: expected a whole number") from None
        if not minimum <= value <= maximum:
            raise argparse.ArgumentTypeError(f"{text!r}: expected a whole number in {minimum}..{maximum}")
        return value

    parse.__name__ = "int"
    return parse


def bounded_float(minimum: float = -MAX_FLOAT, maximum: float = MAX_FLOAT,
                  open_minimum: bool = False) -> Callable[[str], float]:
    """An argparse type: a finite number in ``[minimum, maximum]`` (``(minimum, maximum]`` if ``open_minimum``)."""

    def parse(text: str) -> float:
        try:
            value = float(text.strip())
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r}: expected a number") from None
        low_ok = value > minimum if open_minimum else value >= minimum
        if not math.isfinite(value) or not low_ok or value > maximum:
            interval = f"{'(' if open_minimum else '['}{minimum:g}, {maximum:g}]"
            raise argparse.ArgumentTypeError(f"{text!r}: expected a finite number in {interval}")
        return value

    parse.__name__ = "float"
    return parse


def _checked_type(action: argparse.Action) -> Callable[[str], object] | None:
    if action.type is int:
        return bounded_int(1 if action.dest in POSITIVE_INTS else 0)
    if action.type is float:
        if action.dest == "fps":
            return bounded_float(0.0, MAX_FPS, open_minimum=True)
        return bounded_float(0.0 if action.dest in NONNEGATIVE_FLOATS else -MAX_FLOAT)
    return None


def harden(parser: argparse.ArgumentParser) -> None:
    """Replace plain ``int``/``float`` option types of ``parser`` and all its subparsers by checked ones."""
    for action in parser._actions:
        checked = _checked_type(action)
        if checked is not None:
            action.type = checked
        if isinstance(action, argparse._SubParsersAction):
            for sub in action.choices.values():
                harden(sub)


def parse_params(items: list[str]) -> dict:
    """``["alpha=3", "mapping=\\"sparse\\""]`` -> ``{"alpha": 3, "mapping": "sparse"}`` (bare words stay strings)."""
    out = {}
    for item in items:
        name, sep, value = item.partition("=")
        if not sep or not name.strip():
            raise InvalidInputError(f"--param {item!r}: expected NAME=VALUE")
        try:
            out[name.strip()] = json.loads(value)
        except json.JSONDecodeError:
            out[name.strip()] = value
    return out
