"""Every third-party module faceqa imports belongs to a distribution pyproject.toml declares."""

from __future__ import annotations

import ast
import importlib.metadata
import re
import sys
import tomllib
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DISTRIBUTION_OF = {"dlib": "dlib-bin"}
"""Modules whose wheel does not record them (dlib-bin ships a compiled ``dlib``)."""


def _normal(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def imported_modules(root: Path) -> dict[str, set[str]]:
    """Top-level module -> files importing it (lazy imports inside functions included), third-party only."""
    found: dict[str, set[str]] = {}
    for path in root.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            for name in names:
                top = name.split(".")[0]
                if top not in sys.stdlib_module_names and top not in ("faceqa", "__future__"):
                    found.setdefault(top, set()).add(str(path.relative_to(REPO)))
    return found


def declared() -> tuple[set[str], dict[str, set[str]]]:
    """(core dependencies, extra -> its dependencies), as normalised distribution names."""
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]

    def names(reqs: list[str]) -> set[str]:
        return {_normal(re.split(r"[<>=!~;\[ ]", r, maxsplit=1)[0]) for r in reqs}

    return names(project["dependencies"]), {k: names(v) for k, v in project["optional-dependencies"].items()}


def test_every_import_is_declared():
    core, extras = declared()
    everything = core.union(*extras.values())
    owners = importlib.metadata.packages_distributions()
    missing = {}
    for module, files in imported_modules(REPO / "faceqa").items():
        dists = {_normal(d) for d in owners.get(module, [DISTRIBUTION_OF.get(module, module)])}
        if not dists & everything:
            missing[module] = sorted(files)
    assert not missing, f"imported but not declared in pyproject.toml: {missing}"


def test_optional_parts_are_extras_and_say_how_to_install_them():
    core, extras = declared()
    assert {"pymilvus", "milvus-lite"} <= extras["milvus"] and "bitsandbytes" in extras["quant"]
    assert "langchain-openai" in extras["openai"]
    assert not core & {"pymilvus", "milvus-lite", "bitsandbytes", "langchain-openai"}
    sources = {p.name: p.read_text() for p in (REPO / "faceqa").rglob("*.py")}
    for extra, module in (("milvus", "milvus_store.py"), ("quant", "loader.py"), ("openai", "endpoint.py")):
        assert f"pip install 'faceqa[{extra}]'" in sources[module]
