"""The tool safety policy against hostile inputs: escapes, symlinks, oversized media, URLs, overwrites."""

from __future__ import annotations

import functools
import http.server
import os
import shutil
import threading
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from tools_fixtures import write_media

from faceqa.errors import InvalidInputError, MediaNotFoundError, MediaReadError
from faceqa.tools import AccessDeniedError, FaceTools, LimitExceededError, ToolPolicy
from faceqa.tools.langchain import FaceQAToolkit


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory, astronaut) -> dict[str, Path]:
    """An allowed root with the media, and a sibling folder outside it holding a secret image."""
    base = tmp_path_factory.mktemp("sandbox")
    root = base / "allowed"
    media = write_media(root, astronaut)
    outside = base / "outside"
    outside.mkdir()
    secret = outside / "secret.png"
    Image.fromarray(astronaut[:200, :200]).save(secret)
    (root / "link_out.png").symlink_to(secret)
    (root / "dir_out").symlink_to(outside, target_is_directory=True)
    (root / "link_in.png").symlink_to(media["image"])
    frames = root / "frames"
    frames.mkdir()
    for i in range(3):
        shutil.copy(media["image"], frames / f"img{i}.png")
    leaky = root / "leaky_frames"
    leaky.mkdir()
    shutil.copy(media["image"], leaky / "img0.png")
    (leaky / "img1.png").symlink_to(secret)
    return {"root": root, "outside": outside, "secret": secret, **media}


@pytest.fixture()
def policy(sandbox) -> ToolPolicy:
    return ToolPolicy([sandbox["root"]])


@pytest.mark.parametrize("path", ["../outside/secret.png", "frames/../../outside/secret.png", "/etc/passwd",
                                  "dir_out/secret.png/..", "./../allowed/../outside"])
def test_escapes_are_refused_before_touching_the_disk(policy, path):
    with pytest.raises(AccessDeniedError, match="outside the allowed folders"):
        policy.resolve(path)


def test_absolute_path_outside_the_roots_is_refused(policy, sandbox):
    with pytest.raises(AccessDeniedError, match=r"outside the allowed folders \(.*allowed\)"):
        policy.check_media(str(sandbox["secret"]))


@pytest.mark.parametrize("path", ["link_out.png", "dir_out/secret.png"])
def test_symlinks_leading_outside_are_refused(policy, path):
    with pytest.raises(AccessDeniedError, match="symbolic link leads outside"):
        policy.check_media(path)


def test_frame_folder_with_a_frame_linking_outside_is_refused(policy):
    with pytest.raises(AccessDeniedError, match="frame img1.png is a symbolic link leading outside"):
        policy.check_media("leaky_frames")


def test_paths_inside_are_accepted_relative_absolute_and_through_inner_links(policy, sandbox):
    real = sandbox["image"].resolve()
    assert policy.resolve("astronaut.png") == real
    assert policy.resolve(str(sandbox["image"])) == real
    assert policy.resolve("frames/../astronaut.png") == real
    assert policy.resolve("link_in.png") == real
    checked = policy.check_media("frames")
    assert checked.info.kind == "frames" and checked.info.n_frames == 3 and checked.name == "frames"


def test_missing_empty_and_nul_paths(policy):
    with pytest.raises(MediaNotFoundError, match="nope.png: no such file"):
        policy.check_media("nope.png")
    with pytest.raises(InvalidInputError, match="media path is empty"):
        policy.resolve("  ")
    with pytest.raises(AccessDeniedError, match="NUL byte"):
        policy.resolve("astronaut.png\x00.txt")


def test_oversized_file_is_refused(sandbox):
    small = ToolPolicy([sandbox["root"]], max_file_mb=0.01)
    with pytest.raises(LimitExceededError, match=r"astronaut.png: file is 0\.\d MB, over the 0.0 MB limit"):
        small.check_media("astronaut.png")
    with pytest.raises(LimitExceededError, match="frames: frames total"):
        small.check_media("frames")


def test_oversized_frames_are_refused_from_the_header(sandbox):
    tiny = ToolPolicy([sandbox["root"]], max_pixels=100 * 100)
    with pytest.raises(LimitExceededError, match="astronaut.png: image is 512x512, over the 10,000-pixel limit"):
        tiny.check_media("astronaut.png")
    with pytest.raises(LimitExceededError, match="smile.mp4: frames are 360x360"):
        tiny.check_media("smile.mp4")


def test_frame_and_duration_caps_say_what_to_change(sandbox):
    few = ToolPolicy([sandbox["root"]], max_frames=20)
    with pytest.raises(LimitExceededError, match="45 frames to analyse, over the 20-frame limit; analyse one frame"):
        few.check_media("smile.mp4")
    assert few.check_media("smile.mp4", every=3).info.n_frames == 45  # 15 frames analysed
    assert few.check_media("smile.mp4", start=10, end=29).end == 29
    short = ToolPolicy([sandbox["root"]], max_duration_s=1.0)
    with pytest.raises(LimitExceededError, match=r"lasts 1.5 s, over the 1 s limit; choose a start/end"):
        short.check_media("smile.mp4")


def test_video_decoding_is_bounded_by_the_checked_range(policy):
    assert policy.check_media("smile.mp4").end == 44
    assert policy.check_media("smile.mp4", start=40).end == 44


def test_urls_are_refused_unless_enabled(policy):
    for url in ("http://example.com/face.jpg", "https://example.com/a.mp4", "file:///etc/passwd"):
        with pytest.raises(AccessDeniedError, match="fetching URLs is disabled"):
            policy.check_media(url)


@pytest.fixture(scope="module")
def http_root(sandbox):
    """A local HTTP server serving the sandbox folder."""
    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args) -> None:
            return

    handler = functools.partial(Quiet, directory=str(sandbox["root"]))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def test_enabled_urls_download_once_capped_and_are_cleaned_up(sandbox, http_root):
    policy = ToolPolicy([sandbox["root"]], allow_urls=True)
    checked = policy.check_media(f"{http_root}/astronaut.png")
    assert checked.info.kind == "image" and checked.info.width == 512
    assert policy.resolve(f"{http_root}/astronaut.png") == checked.path  # fetched once
    assert checked.path.read_bytes() == sandbox["image"].read_bytes()
    with pytest.raises(InvalidInputError, match="only http and https"):
        policy.resolve("file:///etc/passwd")
    with pytest.raises(MediaReadError, match="missing.png: download failed \\(HTTP 404 File not found\\)"):
        policy.resolve(f"{http_root}/missing.png")
    policy.close()
    assert not checked.path.exists()
    small = ToolPolicy([sandbox["root"]], allow_urls=True, max_file_mb=0.01)
    with pytest.raises(LimitExceededError, match="over the 0.0 MB limit"):
        small.resolve(f"{http_root}/astronaut.png")


def test_outputs_stay_inside_and_never_overwrite(policy, sandbox):
    assert policy.output_path("new.png") == sandbox["root"].resolve() / "new.png"
    with pytest.raises(AccessDeniedError, match="already exists; tools never overwrite"):
        policy.output_path("astronaut.png")
    with pytest.raises(AccessDeniedError, match="outside the allowed folders"):
        policy.output_path("../outside/new.png")
    with pytest.raises(AccessDeniedError, match="symbolic link leads outside"):
        policy.output_path("dir_out/new.png")
    with pytest.raises(InvalidInputError, match="does not exist"):
        policy.output_path("no_such_folder/new.png")


def test_policy_arguments_are_checked(tmp_path):
    with pytest.raises(InvalidInputError, match="not an existing folder"):
        ToolPolicy([tmp_path / "missing"])
    with pytest.raises(InvalidInputError, match="max_frames: expected a positive number"):
        ToolPolicy([tmp_path], max_frames=0)
    assert ToolPolicy().roots == (Path(os.path.abspath(os.getcwd())),)


def test_default_root_is_the_current_directory(sandbox, monkeypatch):
    monkeypatch.chdir(sandbox["outside"])
    tools = FaceTools()
    with pytest.raises(AccessDeniedError):
        tools.analyze_faces(str(sandbox["image"]))
    assert tools.policy.resolve("secret.png") == sandbox["secret"].resolve()


def test_every_tool_refuses_hostile_paths(sandbox):
    """Each tool, called as an agent would call it, answers a refusal it can read (no exception)."""
    toolkit = FaceQAToolkit(allowed_roots=[sandbox["root"]])
    hostile = {"media": "../outside/secret.png"}
    args = {"analyze_faces": hostile, "identify_faces": hostile, "action_units": hostile,
            "spot_expressions": hostile, "assess_quality": hostile, "ask_face_question": hostile | {"question": "who?"},
            "verify_faces": {"image_a": "astronaut.png", "image_b": "link_out.png"},
            "deidentify_faces": {"media": "astronaut.png", "out": "../outside/blurred.png"},
            "score_face_attribute": {"media": "astronaut.png", "model": "../outside"},
            "transcribe_speech": hostile, "hesitancy_cues": hostile, "audio_video_sync": hostile,
            "protect_face": {"image": "astronaut.png", "target": "astronaut.png", "out": "../outside/protected.png"},
            "audit_embedding_leakage": {"folder": "../outside"}}
    for tool in toolkit.get_tools():
        msg = tool.invoke({"name": tool.name, "args": args[tool.name], "id": "1", "type": "tool_call"})
        assert msg.status == "error", tool.name
        assert "outside the allowed folders" in msg.content or "symbolic link" in msg.content, msg.content
    assert not (sandbox["outside"] / "blurred.png").exists()
    assert not (sandbox["outside"] / "protected.png").exists()


def test_corrupt_media_inside_is_a_clear_error(sandbox, policy):
    bad = sandbox["root"] / "corrupt.mp4"
    bad.write_bytes(np.random.default_rng(0).bytes(2000))
    try:
        with pytest.raises(MediaReadError, match="corrupt.mp4: (cannot open video|video holds no)"):
            policy.check_media("corrupt.mp4")
    finally:
        bad.unlink()
