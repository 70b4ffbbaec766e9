"""Command-line options shared by the commands that hand the tools to an agent (``faceqa mcp``, ``faceqa chat``)."""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path

from faceqa.tools.safety import ToolPolicy


def add_policy_arguments(parser: argparse.ArgumentParser) -> None:
    """Add ``--allow-root``, ``--allow-urls`` and the caps to ``parser``."""
    g = parser.add_argument_group("tool safety")
    g.add_argument("--allow-root", action="append", metavar="DIR", dest="allow_roots",
                   help="folder the tools may read (repeatable; default: the current directory)")
    g.add_argument("--allow-urls", action="store_true", help="let the tools download http(s) media")
    g.add_argument("--max-file-mb", type=float, default=500.0, metavar="MB",
                   help="largest file or frame folder the tools read (default 500)")
    g.add_argument("--max-frames", type=int, default=5000, metavar="N",
                   help="most frames one tool call analyses (default 5000)")
    g.add_argument("--max-duration", type=float, default=600.0, metavar="SECONDS",
                   help="longest video span one tool call analyses (default 600)")
    g.add_argument("--time-limit", type=float, default=300.0, metavar="SECONDS",
                   help="longest one tool call may run before it is stopped with an error (default 300)")


def policy_from_args(args: argparse.Namespace, extra_roots: Sequence[Path] = ()) -> ToolPolicy:
    """The :class:`ToolPolicy` the options ask for; ``extra_roots`` are added after the chosen roots."""
    roots = [Path(r) for r in (args.allow_roots or [Path.cwd()])]
    roots += [r for r in extra_roots if r not in roots]
    return ToolPolicy(roots, max_file_mb=args.max_file_mb, max_frames=args.max_frames,
                      max_duration_s=args.max_duration, allow_urls=args.allow_urls, max_call_s=args.time_limit)
