"""Face crops from video clips: one identity per clip, other people and turned faces dropped."""

from __future__ import annotations

import numpy as np
import pytest

from faceqa.errors import InvalidInputError
from faceqa.perception.identity import SFACE_THRESHOLD, get_embedder
from faceqa.perception.twin import NAMES
from faceqa.perception.video_faces import main_identity, shared_video_faces


def test_main_identity_keeps_the_majority_person():
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=(2, 128))
    rows = np.stack([a + 0.1 * rng.normal(size=128) for _ in range(5)] + [b, b + 0.1 * rng.normal(size=128)])
    rows /= np.linalg.norm(rows, axis=1, keepdims=True)
    assert main_identity(rows).tolist() == [True] * 5 + [False] * 2
    assert main_identity(np.zeros((0, 128))).shape == (0,)


def test_shared_video_faces_needs_frames(tmp_path):
    with pytest.raises(InvalidInputError, match="per_clip"):
        shared_video_faces(tmp_path, per_clip=0, clips={"x.mp4": "x"})


@pytest.mark.realdata
def test_hamilton_clip_keeps_its_main_person(shared_data, tmp_path, one_thread):
    """The Hamilton clip cuts to profiles, a dark stage and the audience: only the singer's faces stay."""
    clips = {"videos/face_recognition/short_hamilton_clip.mp4": "hamilton"}
    cache = tmp_path / "faces.npz"
    faces = shared_video_faces(shared_data, per_clip=10, clips=clips, cache=cache)
    assert 4 <= len(faces) < 10  # some sampled frames are another person or no usable face
    assert faces.crops.shape == (len(faces), 112, 112, 3) and faces.boxes.shape == (len(faces), len(NAMES), 4)
    assert set(faces.labels) == {"hamilton"} and faces.frames == sorted(faces.frames)
    e = get_embedder("sface").embed_crops(faces.crops)
    assert np.linalg.norm(e - e.mean(0) / np.linalg.norm(e.mean(0)), axis=1).max() < SFACE_THRESHOLD
    again = shared_video_faces(shared_data, per_clip=10, clips=clips, cache=cache)  # read back from the cache
    assert np.array_equal(again.crops, faces.crops) and again.frames == faces.frames
    assert np.array_equal(again.rgb_crops(), faces.crops[..., ::-1])
