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


@pytest.fixture
def one_thread():
    """torch on one CPU thread for the test (fastest for tiny models on a busy machine), restored after."""
    from faceqa.torch_threads import one_thread as torch_on_one_thread

    with torch_on_one_thread():
        yield


@pytest.fixture(scope="session")
def tiny_llm_dir(tmp_path_factory) -> Path:
    """A tiny random Llama with a locally trained tokenizer (faceqa.llm.build_tiny_llm), shared by tests."""
    from faceqa.llm import build_tiny_llm

    return build_tiny_llm(tmp_path_factory.mktemp("tiny_llm"))


WHEEL_JOB: dict = {}
"""The background wheel check (tests/wheel_check.py) when this process started it: its process and folder."""


def pytest_configure(config) -> None:
    """Under pytest-xdist, one run id for the controller and its workers (names the wheel check's folder);
    each worker's torch then uses one thread, so that the workers do not fight over the cores."""
    if getattr(config.option, "numprocesses", None) and not getattr(config.option, "testrunuid", None):
        import uuid

        config.option.testrunuid = uuid.uuid4().hex
    if hasattr(config, "workerinput"):
        import torch

        torch.set_num_threads(1)


def _shared_wheel_dir(config) -> Path | None:
    """The wheel check's folder shared by the xdist controller and workers (None without xdist)."""
    import tempfile

    run = config.workerinput["testrunuid"] if hasattr(config, "workerinput") else getattr(
        config.option, "testrunuid", None)
    return Path(tempfile.gettempdir()) / f"faceqa-wheel-{run}" if run else None


def pytest_collection_finish(session) -> None:
    """Start the wheel check as soon as the tests are collected, so its installs overlap the other tests.

    Under xdist every worker collects every test; the first to create the shared folder starts the job."""
    import subprocess
    import sys
    import tempfile

    if session.config.option.collectonly or not any(item.module.__name__ == "test_wheel" for item in session.items):
        return
    out = _shared_wheel_dir(session.config)
    if out is None:
        out = Path(tempfile.mkdtemp(prefix="faceqa-wheel-"))
    else:
        try:
            out.mkdir()
        except FileExistsError:  # another worker started it
            return
    log = (out / "log.txt").open("w")
    process = subprocess.Popen([sys.executable, str(REPO / "tests" / "wheel_check.py"), str(out)],
                               stdout=log, stderr=subprocess.STDOUT)
    (out / "pid").write_text(str(process.pid))
    WHEEL_JOB.update(out=out, process=process)


def pytest_sessionfinish(session, exitstatus) -> None:
    """Stop the wheel check if the session ends first, and remove its folder: the process that started it
    does so without xdist, the controller under xdist (a worker may finish while another still waits)."""
    import contextlib
    import shutil
    import signal

    if hasattr(session.config, "workerinput"):
        return
    out = WHEEL_JOB.get("out") or _shared_wheel_dir(session.config)
    if out is None or not out.exists():
        return
    if WHEEL_JOB:
        WHEEL_JOB["process"].kill()
        WHEEL_JOB["process"].wait()
    elif (out / "pid").exists() and not (out / "result.json").exists():
        with contextlib.suppress(ProcessLookupError, ValueError):
            os.kill(int((out / "pid").read_text()), signal.SIGKILL)
    shutil.rmtree(out, ignore_errors=True)


@pytest.fixture(scope="session")
def wheel_check(request) -> dict:
    """The result of the background wheel check (waits for it, whichever process started it)."""
    import json
    import time

    out = WHEEL_JOB.get("out") or _shared_wheel_dir(request.config)
    if out is None or not out.exists():
        pytest.fail("the wheel check was not started (it starts when test_wheel is collected)")
    result = out / "result.json"
    deadline = time.monotonic() + 3600
    while not result.exists():
        if time.monotonic() > deadline:
            pytest.fail(f"the wheel check wrote no result in an hour (log: {out / 'log.txt'})")
        time.sleep(1)
    return json.loads(result.read_text())


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
