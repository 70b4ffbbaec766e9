"""Packages import one way: the surfaces (tools, chat) never import the CLI; lower layers never import upper ones."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

# module imported -> package prefixes it must not pull in
RULES = {
    "faceqa.tools": ["faceqa.cli"],
    "faceqa.tools.mcp_server": ["faceqa.cli"],
    "faceqa.chat": ["faceqa.cli"],
    "faceqa.qa": ["faceqa.cli", "faceqa.tools", "faceqa.chat"],
    "faceqa.perception": ["faceqa.cli", "faceqa.tools", "faceqa.chat", "faceqa.qa", "faceqa.evidence"],
    "faceqa.media": ["faceqa.perception", "faceqa.cli", "faceqa.qa"],
}


def _imported(module: str) -> list[str]:
    """The faceqa modules loaded by importing ``module`` in a fresh interpreter."""
    code = (f"import sys, json, {module}; "
            "print(json.dumps(sorted(m for m in sys.modules if m.startswith('faceqa'))))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120)
    return json.loads(out.stdout)


@pytest.mark.parametrize("module", sorted(RULES))
def test_imports_stay_in_their_layer(module):
    loaded = _imported(module)
    wrong = [m for m in loaded for banned in RULES[module] if m == banned or m.startswith(banned + ".")]
    assert not wrong, f"importing {module} loads {wrong}"
