"""Shared fixtures: generated media from skimage's astronaut, and the real data in ../shared/data."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
from media_fixtures import shifted_frames, write_video

REPO = Path(__file__).resolve().parents[1]
os.environ.setdefault("HF_HUB_OFFLINE", "1")  # nothing may come from a model hub during tests


def shared_data_dir() -> Path | None:
    """../shared/data beside the checkout, or $FACEQA_TEST_DATA; None when absent."""
    env = os.environ.get("FACEQA_TEST_DATA")
    candidates = [Path(env)] if env else []
    candidates.append(REPO.parent / "shared" / "data")
    for c in candidates:
        if c.is_dir():
            return c
    return None


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The real test data; skips the test (one line why) where it is not present."""
    d = shared_data_dir()
    if d is None:
        pytest.skip("real data not found: put ../shared/data beside the checkout or set FACEQA_TEST_DATA")
    return d


@pytest.fixture(scope="session")
def astronaut() -> np.ndarray:
    """skimage's astronaut portrait (RGB uint8, 512x512): a real face shipped by a package."""
    from skimage import data

    return np.ascontiguousarray(data.astronaut())


@pytest.fixture(scope="session")
def astronaut_video(tmp_path_factory, astronaut) -> Path:
    """A 40-frame 25 fps mp4 made from the astronaut with a slow pan (for tracking)."""
    return write_video(tmp_path_factory.mktemp("video") / "astronaut_pan.mp4", shifted_frames(astronaut, 40))


@pytest.fixture(scope="session")
def tiny_llm_dir(tmp_path_factory) -> Path:
    """A tiny random Llama with a locally trained tokenizer (faceqa.llm.build_tiny_llm), shared by tests."""
    from faceqa.llm import build_tiny_llm

    return build_tiny_llm(tmp_path_factory.mktemp("tiny_llm"))


WHEEL_JOB: dict = {}
"""The background wheel check (tests/wheel_check.py): its process and output folder, when test_wheel runs."""


def pytest_collection_finish(session) -> None:
    """Start the wheel check as soon as the tests are collected, so its installs overlap the other tests."""
    import subprocess
    import sys
    import tempfile

    if any(item.module.__name__ == "test_wheel" for item in session.items) and not session.config.option.collectonly:
        out = Path(tempfile.mkdtemp(prefix="faceqa-wheel-"))
        log = (out / "log.txt").open("w")
        WHEEL_JOB.update(out=out, process=subprocess.Popen([sys.executable, str(REPO / "tests" / "wheel_check.py"),
                                                            str(out)], stdout=log, stderr=subprocess.STDOUT))


def pytest_sessionfinish(session, exitstatus) -> None:
    """Stop the wheel check if the session ends first, and remove its folder."""
    import shutil

    if WHEEL_JOB:
        WHEEL_JOB["process"].kill()
        WHEEL_JOB["process"].wait()
        shutil.rmtree(WHEEL_JOB["out"], ignore_errors=True)


@pytest.fixture(scope="session")
def wheel_check() -> dict:
    """The result of the background wheel check (waits for it)."""
    if not WHEEL_JOB:
        pytest.skip("the wheel check was not started")
    WHEEL_JOB["process"].wait(timeout=3600)
    import json

    return json.loads((WHEEL_JOB["out"] / "result.json").read_text())


@pytest.fixture(scope="session")
def deepface_crops(shared_data) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """The deepface photos' largest faces as (aligned 112x112 SFace crop, twin-head region boxes), by
    file name (one detection and mesh each, shared by the identity, identification and twin tests)."""
    import csv

    from faceqa.media import read_image
    from faceqa.perception.detection import FaceDetector, largest_face
    from faceqa.perception.twin import crop_and_boxes

    folder = shared_data / "faces" / "deepface"
    with open(folder / "identities_derived.csv", newline="") as fh:
        names = sorted({r["file"] for r in csv.DictReader(fh)})
    detector = FaceDetector()
    crops = {}
    for name in names:
        image = read_image(folder / "images" / name)
        crops[name] = crop_and_boxes(image, largest_face(image, detector, name=name))
    return crops


@pytest.fixture(scope="session")
def deepface_sface(deepface_crops) -> dict[str, np.ndarray]:
    """SFace embeddings of :func:`deepface_crops`, by file name."""
    from faceqa.perception.identity import get_embedder

    names = sorted(deepface_crops)
    vectors = get_embedder("sface").embed_crops(np.stack([deepface_crops[n][0] for n in names]))
    return dict(zip(names, vectors, strict=True))
