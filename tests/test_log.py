"""The command line prints faceqa's output and errors; other libraries' logs, warnings, progress bars only with -v."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

NOISE = """
import logging, os, sys, warnings
from faceqa.log import configure
configure(int(sys.argv[1]))
logging.getLogger("bitsandbytes.backends.cpu.ops").warning("Failed to load CPU gemm_4bit_forward")
warnings.warn("`is_gradient_checkpointing` is deprecated", FutureWarning)
logging.getLogger("faceqa.llm.smollm").info("converting the GGUF once")
logging.getLogger("faceqa.gallery").warning("a faceqa warning")
logging.getLogger("faceqa.cli").error("a faceqa error")
print(os.environ["TRANSFORMERS_VERBOSITY"], os.environ["HF_HUB_DISABLE_PROGRESS_BARS"])
"""


def _stderr_lines(verbosity: int) -> tuple[list[str], str]:
    env = {k: v for k, v in os.environ.items() if k not in ("TRANSFORMERS_VERBOSITY", "HF_HUB_DISABLE_PROGRESS_BARS")}
    proc = subprocess.run([sys.executable, "-c", NOISE, str(verbosity)], capture_output=True, text=True, env=env,
                          check=True, timeout=60)
    return [line for line in proc.stderr.splitlines() if line.strip()], proc.stdout.strip()


@pytest.mark.parametrize(("verbosity", "expected", "hf"), [
    (-1, ["faceqa: a faceqa error"], "error 1"),
    (0, ["faceqa: a faceqa warning", "faceqa: a faceqa error"], "error 1"),
    (1, ["bitsandbytes.backends.cpu.ops: WARNING: Failed to load CPU gemm_4bit_forward",
         "deprecated", "faceqa: converting the GGUF once", "faceqa: a faceqa warning", "faceqa: a faceqa error"],
     "warning 1"),
])
def test_what_each_verbosity_prints(verbosity, expected, hf):
    lines, settings = _stderr_lines(verbosity)
    assert len(lines) == len(expected) and all(e in line for e, line in zip(expected, lines, strict=True)), lines
    assert settings == hf


def test_verbosity_flags_go_before_or_after_the_command(capsys):
    from faceqa.cli.main import build_parser

    parser = build_parser()
    assert parser.parse_args(["-v", "models"]).verbose == 1
    assert parser.parse_args(["models", "-vv"]).verbose == 2
    args = parser.parse_args(["-q", "ask", "x.png", "q?"])
    assert (args.quiet, args.verbose) == (1, 0)
