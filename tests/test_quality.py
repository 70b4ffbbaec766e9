"""Per-face quality: sharpness, brightness, size and detector score from a frame and a box."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from faceqa.errors import InvalidInputError
from faceqa.perception.detection import largest_face
from faceqa.perception.quality import as_box, clip_box, face_quality


@pytest.fixture(scope="module")
def face(astronaut):
    return largest_face(astronaut)


def test_keys_size_and_score(astronaut, face):
    q = face_quality(astronaut, face.bbox, face.score)
    assert list(q) == ["sharpness", "brightness", "face_px", "det_score"]
    x0, y0, x1, y1 = face.bbox
    assert q["face_px"] == pytest.approx((x1 - x0 + y1 - y0) / 2)
    assert q["det_score"] == pytest.approx(face.score)
    assert 0.0 < q["brightness"] < 1.0 and q["sharpness"] > 100


def test_sharpness_falls_as_blur_grows(astronaut, face):
    values = [face_quality(astronaut if s == 0 else cv2.GaussianBlur(astronaut, (0, 0), s), face.bbox, 1.0)
              ["sharpness"] for s in (0, 0.5, 1, 2, 4, 8)]
    assert all(a > b for a, b in zip(values, values[1:], strict=False)), values
    assert values[-1] < 0.05 * values[0]


def test_brightness_falls_when_darkened(astronaut, face):
    values = [face_quality((astronaut * f).astype(np.uint8), face.bbox, 1.0)["brightness"]
              for f in (1.0, 0.75, 0.5, 0.25)]
    assert all(a > b for a, b in zip(values, values[1:], strict=False)), values
    assert values[2] == pytest.approx(values[0] / 2, abs=0.01)
    assert face_quality(np.zeros_like(astronaut), face.bbox, 1.0)["brightness"] == 0.0


def test_sharpness_is_measured_at_a_fixed_size(astronaut, face):
    big = cv2.resize(astronaut, None, fx=2, fy=2, interpolation=cv2.INTER_CUBIC)
    box2 = tuple(2 * v for v in face.bbox)
    a = face_quality(astronaut, face.bbox, 1.0)["sharpness"]
    b = face_quality(big, box2, 1.0)["sharpness"]
    assert 0.5 < b / a < 2.0


def test_box_partly_outside_is_clipped(astronaut):
    q = face_quality(astronaut, (-50, -50, 100, 100), 0.5)
    assert q["face_px"] == 150 and np.isfinite(q["sharpness"])


@pytest.mark.parametrize("bbox", [(600, 600, 700, 700), (10, 10, 5, 50), (0, 0, float("nan"), 10), (1, 2, 3)])
def test_bad_boxes_raise(astronaut, bbox):
    with pytest.raises(InvalidInputError, match="bbox"):
        face_quality(astronaut, bbox, 1.0)


def test_box_helpers():
    assert as_box([1, 2, 3, 4]) == (1.0, 2.0, 3.0, 4.0)
    assert clip_box((-5.5, 2.2, 10.1, 400), 100, 50) == (0, 2, 11, 50)
