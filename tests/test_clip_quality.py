"""Frame and clip quality scores: the astronaut degraded by known amounts, clips with and without a face."""

from __future__ import annotations

import json

import cv2
import numpy as np
import pandas as pd
import pytest
from media_fixtures import write_video

from faceqa.cli.main import main
from faceqa.quality import assess_quality, combine
from faceqa.quality.measures import detail, directional_ratio, noise_sigma
from faceqa.quality.scores import ramp


def score(image: np.ndarray) -> float:
    return assess_quality(image)["score"]


def falls(values: list[float]) -> bool:
    return all(a > b for a, b in zip(values, values[1:], strict=False))


def test_score_falls_monotonically_with_blur(astronaut):
    values = [score(astronaut if s == 0 else cv2.GaussianBlur(astronaut, (0, 0), s)) for s in (0, 1, 2, 4)]
    assert falls(values), values
    assert values[0] > 0.9 and values[-1] < 0.5


def test_score_falls_monotonically_with_noise(astronaut):
    rng = np.random.default_rng(0)
    noisy = [np.clip(astronaut + rng.normal(0, s, astronaut.shape), 0, 255).astype(np.uint8) for s in (5, 10, 20, 40)]
    values = [score(astronaut)] + [score(n) for n in noisy]
    assert falls(values), values
    assert values[-1] < 0.8


def test_score_falls_monotonically_when_darkened(astronaut):
    values = [score((astronaut * f).astype(np.uint8)) for f in (1.0, 0.75, 0.5, 0.25, 0.12)]
    assert falls(values), values
    assert values[-1] < 0.4


def test_components_respond_to_their_own_degradation(astronaut):
    clean = assess_quality(astronaut)["components"]
    kernel = np.zeros((9, 9))
    kernel[4, :] = 1 / 9
    smeared = assess_quality(cv2.filter2D(astronaut, -1, kernel))["components"]
    assert clean["motion_blur"] == 1.0 and smeared["motion_blur"] < 0.5
    small = assess_quality(cv2.resize(astronaut, (160, 160), interpolation=cv2.INTER_AREA))["components"]
    assert small["size"] < 0.3 < clean["size"]
    assert all(0.0 <= v <= 1.0 for v in clean.values())


def test_measures_separate_noise_from_detail():
    rng = np.random.default_rng(1)
    flat = np.full((100, 100), 128.0)
    noisy = np.clip(flat + rng.normal(0, 10, flat.shape), 0, 255).astype(np.uint8)
    assert noise_sigma(noisy) == pytest.approx(10, rel=0.1)
    assert detail(noisy) < 0.1 * cv2.Laplacian(noisy, cv2.CV_64F).var()  # noise is not detail
    stripes = np.tile((np.arange(100) % 4 < 2) * 255, (100, 1)).astype(np.uint8)
    assert directional_ratio(stripes) < 0.05  # detail across one direction only


def test_score_helpers():
    assert ramp(0.15, 0.05, 0.25) == pytest.approx(0.5) and ramp(30, 60, 15) == pytest.approx(2 / 3)
    assert ramp(-1, 0, 1) == 0 and ramp(2, 0, 1) == 1
    assert combine({"a": 0.25, "b": 1.0}, {"a": 0.5, "b": 0.5}) == pytest.approx(0.5)


@pytest.fixture(scope="module")
def half_face_clip(tmp_path_factory, astronaut):
    """20 frames: the astronaut, then 10 frames of the background's colour with no face."""
    face = np.ascontiguousarray(astronaut[:320, 100:420])
    empty = np.full_like(face, astronaut[:320, 420:].mean(axis=(0, 1)).astype(np.uint8))
    return write_video(tmp_path_factory.mktemp("q") / "half.mp4", [face] * 10 + [empty] * 10)


def test_clip_score_counts_faceless_frames_as_zero(half_face_clip):
    r = assess_quality(half_face_clip, frames=True)
    assert r["frames_analyzed"] == 20 and r["coverage"] == 0.5
    assert r["score"] == pytest.approx(r["face_score"] / 2, abs=1e-3)
    assert [f["faces"] for f in r["frames"]] == [1] * 10 + [0] * 10
    assert r["frames"][-1]["face"] is None and r["frames"][-1]["score"] == 0.0
    assert all(w["weakest"] == "no face" for w in r["worst_frames"])


def test_cli_quality_json_and_csv(half_face_clip, tmp_path, capsys):
    out = tmp_path / "q.csv"
    assert main(["quality", str(half_face_clip), "--every", "2", "--out", str(out), "--json", "--no-progress"]) == 0
    r = json.loads(capsys.readouterr().out)
    assert r["frames_analyzed"] == 10 and "frames" not in r and r["out"] == str(out)
    table = pd.read_csv(out)
    assert list(table["frame"]) == list(range(0, 20, 2))
    assert {"score", "face_sharpness", "face_pose", "image_noise"} <= set(table.columns)
    assert main(["quality", str(half_face_clip), "--no-progress"]) == 0
    text = capsys.readouterr().out
    assert "face in 50%" in text and "worst: frame" in text
    assert main(["quality", str(half_face_clip), "--out", str(tmp_path / "q.txt")]) == 2
    assert "--out must be a .csv" in capsys.readouterr().err
