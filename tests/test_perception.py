"""Detection, mesh, pose, tracking and the per-frame table on the astronaut and videos made from it."""

from __future__ import annotations

import cv2
import numpy as np
import pandas as pd
import pytest

from faceqa.errors import NoFaceError
from faceqa.perception import FaceDetector, FacePipeline, largest_face, to_dataframe
from faceqa.perception.detection import BlazeFace, ssd_anchors
from faceqa.perception.geometry import ROI, invert_points
from faceqa.perception.mesh import FaceMesh, roi_from_detection
from faceqa.perception.pose import head_pose

# The astronaut's face (Eileen Collins) lies around x 175-275, y 70-175 in the 512x512 image.
FACE_BOX = (175, 70, 275, 175)


def _centre(box):
    return ((box[0] + box[2]) / 2, (box[1] + box[3]) / 2)


@pytest.fixture(scope="module")
def pipe():
    return FacePipeline(emotion="fer")


def test_anchor_layouts_match_models():
    assert ssd_anchors(128, (8, 16, 16, 16), True).shape == (896, 2)
    assert ssd_anchors(192, (4,), False).shape == (2304, 2)


@pytest.mark.parametrize("variant", ["short", "full"])
def test_blazeface_finds_the_astronaut(astronaut, variant):
    faces = BlazeFace(variant).detect(astronaut)
    assert len(faces) == 1
    cx, cy = _centre(faces[0].bbox)
    assert abs(cx - 225) < 20 and abs(cy - 122) < 20
    right_eye, left_eye = faces[0].keypoints[:2]
    assert right_eye[0] < left_eye[0]  # subject's right eye is on the image's left


def test_variants_flip_crop_resize(astronaut):
    det = FaceDetector()
    flipped = np.ascontiguousarray(astronaut[:, ::-1])
    cx, _ = _centre(largest_face(flipped, det).bbox)
    assert abs(cx - (512 - 225)) < 20
    crop = np.ascontiguousarray(astronaut[40:300, 100:360])
    cx, cy = _centre(largest_face(crop, det).bbox)
    assert abs(cx - 125) < 20 and abs(cy - 82) < 20
    small = cv2.resize(astronaut, (256, 256), interpolation=cv2.INTER_AREA)
    cx, cy = _centre(largest_face(small, det).bbox)
    assert abs(cx - 112) < 12 and abs(cy - 61) < 12
    gray = np.repeat(cv2.cvtColor(astronaut, cv2.COLOR_RGB2GRAY)[:, :, None], 3, axis=2)
    assert len(det.detect(gray)) == 1


def test_no_face_raises_naming_the_input():
    flat = np.full((200, 200, 3), 127, np.uint8)
    assert FaceDetector().detect(flat) == []
    with pytest.raises(NoFaceError, match="blank.png"):
        largest_face(flat, name="blank.png")


def test_roi_crop_round_trip():
    roi = ROI(100.0, 80.0, 60.0, 0.4)
    m = roi.crop_matrix(192)
    pts = np.array([[10.0, 20.0, 5.0], [150.0, 170.0, -3.0]])
    mapped = np.c_[pts[:, :2] @ m[:, :2].T + m[:, 2], pts[:, 2:] * 192 / 60]
    back = invert_points(m, mapped)
    assert np.allclose(back, pts, atol=1e-3)


def test_the_iris_model_sees_each_eye_upright_with_its_outer_corner_first(astronaut):
    """The eye crops are fed as the iris model expects: its eye contour comes back with the upper lid
    above the lower lid and its first point on the eye's outer corner, for both eyes, and each iris
    centre lies between its eye's lids and corners."""
    from faceqa.perception.mesh import eye_contours

    lm = FaceMesh()(astronaut, roi_from_detection(largest_face(astronaut))).landmarks
    for (contour, iris), (outer, inner, upper, lower) in zip(eye_contours(astronaut, lm),
                                                             ((33, 133, 159, 145), (263, 362, 386, 374)), strict=True):
        width = np.linalg.norm(lm[outer, :2] - lm[inner, :2])
        assert contour[12, 1] < contour[4, 1]  # the upper lid's middle above the lower lid's
        assert np.linalg.norm(contour[0, :2] - lm[outer, :2]) < 0.2 * width
        assert np.linalg.norm(contour[8, :2] - lm[inner, :2]) < 0.2 * width
        assert np.linalg.norm(contour[12, :2] - lm[upper, :2]) < 0.1 * width
        assert lm[upper, 1] < iris[0, 1] < lm[lower, 1] and min(lm[outer, 0], lm[inner, 0]) < iris[0, 0] < max(
            lm[outer, 0], lm[inner, 0])


def test_mesh_on_upright_and_rotated_face(astronaut):
    mesh = FaceMesh(iris=True)
    det = largest_face(astronaut)
    res = mesh(astronaut, roi_from_detection(det))
    assert res.landmarks.shape == (478, 3) and res.score > 0.9
    lm = res.landmarks
    assert lm[33, 0] < lm[263, 0]  # right eye outer corner left of the left eye's
    assert lm[10, 1] < lm[1, 1] < lm[152, 1]  # forehead above nose tip above chin
    assert min(lm[33, 0], lm[133, 0]) < lm[468, 0] < max(lm[33, 0], lm[133, 0])  # iris inside its eye
    # rotate the image 25 deg: the mesh follows, and roll reads the rotation
    rot_m = cv2.getRotationMatrix2D((225, 122), 25, 1.0)
    rotated = cv2.warpAffine(astronaut, rot_m, (512, 512))
    res_r = mesh(rotated, roi_from_detection(largest_face(rotated)))
    expected = lm[:468, :2] @ rot_m[:, :2].T + rot_m[:, 2]
    assert np.median(np.linalg.norm(res_r.landmarks[:468, :2] - expected, axis=1)) < 3.0
    roll0 = head_pose(lm)[2]
    assert head_pose(res_r.landmarks)[2] - roll0 == pytest.approx(-25, abs=4)


def test_pose_recovers_synthetic_yaw_and_pitch(astronaut):
    lm = FaceMesh()(astronaut, roi_from_detection(largest_face(astronaut))).landmarks
    yaw0, pitch0, _ = head_pose(lm)
    assert abs(yaw0) < 10 and abs(pitch0) < 12  # a frontal portrait
    c = lm.mean(0)
    for a in (-30, 30):
        t = np.radians(a)
        ry = np.array([[np.cos(t), 0, np.sin(t)], [0, 1, 0], [-np.sin(t), 0, np.cos(t)]])
        assert head_pose((lm - c) @ ry.T + c)[0] - yaw0 == pytest.approx(a, abs=3)
        rx = np.array([[1, 0, 0], [0, np.cos(t), np.sin(t)], [0, -np.sin(t), np.cos(t)]])
        assert head_pose((lm - c) @ rx.T + c)[1] - pitch0 == pytest.approx(a, abs=3)


def test_image_records_and_table(astronaut, pipe, tmp_path):
    records = pipe.analyze_image(astronaut)
    assert len(records) == 1
    r = records[0]
    assert r.landmarks.shape == (468, 3)
    assert abs(_centre(r.bbox)[0] - 225) < 20
    assert set(r.emotion) == {"angry", "disgust", "fear", "happy", "sad", "surprise", "neutral"}
    assert sum(r.emotion.values()) == pytest.approx(1, abs=1e-3)
    assert r.emotion["happy"] == max(r.emotion.values())  # she smiles
    assert {"sharpness", "brightness", "face_px", "det_score"} <= set(r.quality)
    df = to_dataframe(records)
    for col in ("frame", "time_s", "face_id", "bbox_x0", "det_score", "pose_yaw", "emotion_happy",
                "quality_sharpness", "x_0", "y_467"):
        assert col in df.columns
    df.to_csv(tmp_path / "f.csv", index=False)
    df.to_parquet(tmp_path / "f.parquet")
    assert pd.read_parquet(tmp_path / "f.parquet").shape == df.shape
    arr = to_dataframe(records, landmarks="array")
    assert arr["landmarks"].iloc[0].shape == (468, 3)


def test_tracking_keeps_one_id_on_a_panning_video(astronaut_video):
    pipe = FacePipeline(emotion=None, quality=False)
    analysis = pipe.analyze(astronaut_video)
    assert analysis.frames == 40
    assert analysis.frames_with_face == 40
    assert {r.face_id for r in analysis.records} == {0}
    xs = [_centre(r.bbox)[0] for r in analysis.records]
    assert xs[0] - xs[-1] == pytest.approx(2.0 * 39, abs=10)  # the face drifts left as the crop pans right


def test_two_faces_get_distinct_stable_ids(astronaut):
    face = np.ascontiguousarray(astronaut[30:230, 125:325])
    frames = []
    for i in range(12):
        canvas = np.full((240, 480, 3), 200, np.uint8)
        canvas[20:220, 10 + i:210 + i] = face
        canvas[20:220, 260 - i:460 - i] = face[:, ::-1]
        frames.append(canvas)
    pipe = FacePipeline(emotion=None, quality=False)
    per_frame = [recs for _, recs in pipe.stream(_ListMedia(frames))]
    assert all(len(r) == 2 for r in per_frame)
    ids_left = {min(r, key=lambda x: x.bbox[0]).face_id for r in per_frame}
    ids_right = {max(r, key=lambda x: x.bbox[0]).face_id for r in per_frame}
    assert len(ids_left) == 1 and len(ids_right) == 1 and ids_left != ids_right


class _ListMedia:
    """A Media-like list of frames (what the pipeline needs: info, len, frames())."""

    def __init__(self, frames):
        from faceqa.media import MediaInfo

        self._frames = frames
        self.info = MediaInfo("<list>", "video", 25.0, len(frames), frames[0].shape[1], frames[0].shape[0])

    def __len__(self):
        return len(self._frames)

    def frames(self):
        from faceqa.media import Frame

        for i, f in enumerate(self._frames):
            yield Frame(i, i / 25.0, f)
