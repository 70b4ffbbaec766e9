"""The independent expression generator (faceqa.synth): muscle fields, calibration, clips, truth,
distractors, 200 fps, many faces, and injection into real video."""

from __future__ import annotations

import json
import time

import cv2
import numpy as np
import pytest

from faceqa.synth import (
    AU_NAMES,
    ClipSpec,
    Distractors,
    InjectedAU,
    InjectedEvent,
    astronaut_face,
    face_crop,
    ground_truth,
    make_clip,
    random_clip_spec,
    render_frames,
    shared_face_photos,
    spec_from_truth,
)
from faceqa.synth.actions import AT_E
from faceqa.synth.calibration import calibration
from faceqa.synth.clips import face_warper, find_landmarks, frame_amounts
from faceqa.synth.spec import distractor_spans


@pytest.fixture(scope="module")
def face() -> np.ndarray:
    return astronaut_face()


@pytest.fixture(scope="module")
def big_face(face) -> np.ndarray:
    """The astronaut at twice the size (IOD ~87 px), for geometric checks of small motions."""
    return cv2.resize(face, None, fx=2, fy=2, interpolation=cv2.INTER_CUBIC)


@pytest.fixture(scope="module")
def warper(face):
    return face_warper(face, find_landmarks(face))


@pytest.fixture(scope="module")
def big_warper(big_face):
    return face_warper(big_face, find_landmarks(big_face))


def track_dot(warper, uv, amounts) -> np.ndarray:
    """Where a red dot placed at face point ``uv`` lands after the warp (face coordinates, IOD)."""
    a = warper.anatomy
    img = np.full((warper.y1 + 4, warper.x1 + 4, 3), 128, np.uint8)
    xy = np.round(a.to_image(np.asarray(uv, float))).astype(int)
    cv2.circle(img, (int(xy[0]), int(xy[1])), 2, (255, 0, 0), -1)

    def centre(im):
        ys, xs = np.nonzero(im[..., 0].astype(int) - im[..., 1].astype(int) > 60)
        assert len(xs), "the dot was covered"
        return a.to_face(np.array([xs.mean(), ys.mean()]))

    return centre(warper.warp(img, amounts)) - centre(img)


def mid_lid(a, side: str, which: str) -> np.ndarray:
    lid = a.upper_lid[side] if which == "upper" else a.lower_lid[side]
    u = 0.5 * (lid[0, 0] + lid[-1, 0])
    return np.array([u, np.interp(u, lid[:, 0], lid[:, 1])])


def test_calibration_matches_the_documented_table(warper):
    """The muscle model's displacement of each AU's FACS landmark at E is the documented one."""
    cal = calibration(warper.anatomy)
    assert set(cal) == set(AU_NAMES) == set(AT_E)
    for au, row in cal.items():
        if au in (43, 45):
            assert row["aperture_after"] == pytest.approx(0.0, abs=0.005)
        else:
            assert row["size"] == pytest.approx(AT_E[au], rel=0.1), au
    assert cal[12]["up"] > 0.15 and cal[12]["out"] > 0.1  # up and out, 0.25 IOD in all
    assert cal[26]["up"] == pytest.approx(-0.35, abs=0.01) and cal[27]["up"] == pytest.approx(-0.6, abs=0.01)
    assert cal[15]["up"] < -0.08 and cal[20]["out"] > 0.1 and cal[23]["out"] < -0.03
    assert cal[1]["up"] > 0.1 and cal[2]["up"] > 0.1 and cal[5]["up"] > 0.05 and cal[7]["up"] > 0.04


def test_rendered_warp_moves_the_anatomy_by_the_documented_amount(big_warper):
    """Dots on the face land where the muscle model says: lip corner (AU12, one side only), chin
    (AU26), upper lid onto the lower lid (AU45), brow head (AU1)."""
    a = big_warper.anatomy
    cal = calibration(a)
    left = track_dot(big_warper, a.corner["L"], {(12, "L"): 1.0})
    assert -left[1] == pytest.approx(cal[12]["up"], rel=0.15) and left[0] == pytest.approx(cal[12]["out"], rel=0.15)
    assert np.abs(track_dot(big_warper, a.corner["R"], {(12, "L"): 1.0})).max() < 0.01
    assert track_dot(big_warper, a.menton, {(26, "both"): 1.0})[1] == pytest.approx(0.35, rel=0.1)
    up, lo = mid_lid(a, "L", "upper"), mid_lid(a, "L", "lower")
    moved = track_dot(big_warper, up, {(45, "both"): 1.0})[1]
    assert moved == pytest.approx(0.88 * (lo[1] - up[1]), rel=0.25)
    assert -track_dot(big_warper, a.brow_point("R", 0.1), {(1, "R"): 1.0})[1] == pytest.approx(0.12, rel=0.15)


def test_intensity_scales_the_displacement_monotonically(big_warper):
    a = big_warper.anatomy
    for au, point, axis in [(12, a.corner["L"], 1), (26, a.menton, 1), (4, a.brow_point("L", 0.5), 0)]:
        moves = [abs(track_dot(big_warper, point, {(au, "L" if au != 26 else "both"): k})[axis])
                 for k in (0.15, 0.3, 0.5, 0.75, 1.0)]
        assert all(b > c for b, c in zip(moves[1:], moves[:-1], strict=False)), (au, moves)
        assert moves[0] == pytest.approx(0.15 * moves[-1], rel=0.35), (au, moves)  # about linear


def test_one_sided_aus_move_only_that_side(warper, face):
    """Left-only AUs change the subject's left half (the image's right) and leave the right alone."""
    a = warper.anatomy
    U = warper.U
    for au in (12, 2, 6, 15, 20, 45):
        out = warper.warp(face, {(au, "L"): 1.0})
        diff = np.abs(out.astype(int) - face.astype(int)).sum(axis=2)[warper.y0:warper.y1, warper.x0:warper.x1]
        right, left = diff[U < -0.15].sum(), diff[U > 0.15].sum()
        assert left > 0 and right < 0.02 * left, (au, left, right)
    assert a.corner["L"][0] > 0 > a.corner["R"][0]


def test_the_mesh_sees_the_generated_smile_and_jaw_drop(face):
    """The perception mesh, re-detected on warped frames, moves the way the muscles do (it registers
    only part of the displacement on stills: the 468-point mesh leans to its mean shape)."""
    from faceqa.perception import FacePipeline

    pipe = FacePipeline(emotion=None, quality=False)
    w = face_warper(face, find_landmarks(face))
    a = w.anatomy

    def mesh(img):
        return a.to_face(pipe.analyze_image(img)[0].landmarks[:468, :2])

    m0 = mesh(face)
    m12 = mesh(w.warp(face, {(12, "L"): 1.0})) - m0
    left, right = m12[291], m12[61]
    assert left[0] > 0.015 and left[1] < -0.015  # subject's left corner out (+u) and up (-v)
    assert np.hypot(*left) > 1.5 * np.hypot(*right)
    m26 = mesh(w.warp(face, {(26, "both"): 1.0})) - m0
    assert m26[152, 1] > 0.1 and m26[14, 1] - m26[13, 1] > 0.08  # chin down, lips apart


def test_blink_covers_the_eye(big_warper, big_face):
    """AU45 at E: the upper lid covers the eye: the dark iris inside the eye opening is gone."""
    a = big_warper.anatomy
    poly = np.round(a.to_image(np.concatenate([a.upper_lid["L"], a.lower_lid["L"][::-1]]))).astype(np.int32)
    mask = np.zeros(big_face.shape[:2], np.uint8)
    cv2.fillPoly(mask, [poly], 1)
    gray = cv2.cvtColor(big_face, cv2.COLOR_RGB2GRAY)
    dark = (gray < np.percentile(gray[mask > 0], 30)) & (mask > 0)

    def darkness(img):
        return float(cv2.cvtColor(img, cv2.COLOR_RGB2GRAY)[dark].mean())

    shut = big_warper.warp(big_face, {(45, "both"): 1.0})
    half = big_warper.warp(big_face, {(45, "both"): 0.5})
    assert darkness(big_face) < darkness(half) < darkness(shut)
    assert darkness(shut) - darkness(big_face) > 30


def test_every_au_renders_and_bad_input_is_refused(warper, face):
    for au in AU_NAMES:
        out = warper.warp(face, {(au, "both"): 1.0})
        assert out.shape == face.shape and np.abs(out.astype(int) - face.astype(int)).max() > 20, au
    with pytest.raises(ValueError, match="AU99"):
        warper.unit(99, "both")
    with pytest.raises(ValueError, match="side"):
        warper.unit(26, "L")
    with pytest.raises(ValueError, match="intensity"):
        make_clip(face, ClipSpec(5, 30.0, [InjectedEvent(1, 2, 3, [InjectedAU(12, "L", 1.5)])]), "unused.avi")


def test_truth_json_round_trips(tmp_path, face):
    spec = ClipSpec(60, 30.0, [InjectedEvent(30, 34, 40, [InjectedAU(4, "both", 0.3), InjectedAU(7, "L", 0.2)]),
                               InjectedEvent(10, 18, 55, [InjectedAU(12, "both", 0.6)], hold=25, role="posed")],
                    Distractors(head_shift_px=2, blinks=[33], blink_frames=5, talking=(20, 50), talking_hz=5.0,
                                head_turns=[(25, 45, 12.0, -3.0)]), seed=3)
    truth = make_clip(face, spec, tmp_path / "clip")
    assert len(list((tmp_path / "clip").glob("img*.jpg"))) == 60
    stored = json.loads((tmp_path / "clip" / "truth.json").read_text())
    assert stored == json.loads(json.dumps(truth))
    assert spec_from_truth(stored) == spec
    assert [e["kind"] for e in stored["events"]] == ["micro", "macro"]
    assert [e["role"] for e in stored["events"]] == ["expression", "posed"]
    assert stored["spans"] == {"blinks": [[33, 37]], "talking": [[20, 50]], "head_turns": [[25, 45]],
                               "posed": [[10, 55]]}
    short = ClipSpec(8, 30.0, [InjectedEvent(2, 4, 6, [InjectedAU(45, "R", 1.0)])])
    make_clip(face, short, tmp_path / "short.avi")
    assert spec_from_truth(json.loads((tmp_path / "short.json").read_text())) == short


def test_overlapping_distractors_appear_where_specified(face, warper):
    """Speech, a blink and a look-away inside a micro-expression, on a posed smile: each acts on
    its own frames, and the event still shows."""
    event = InjectedEvent(40, 44, 50, [InjectedAU(2, "both", 0.4)])
    posed = InjectedEvent(20, 28, 75, [InjectedAU(12, "both", 0.5)], hold=40, role="posed")
    spec = ClipSpec(90, 30.0, [event, posed], Distractors(blinks=[42], blink_frames=5, talking=(35, 60),
                                                          head_turns=[(38, 58, 10.0, 0.0)]))
    amounts = [frame_amounts(spec, f, {k: np.full(26, 0.5) for k in [(26, "both"), (25, "both")]})
               for f in range(90)]
    talking = [f for f in range(90) if (26, "both") in amounts[f]]
    assert talking == list(range(35, 61))
    assert [f for f in range(90) if (45, "both") in amounts[f]] == [42, 43, 44, 45, 46]
    assert all((2, "both") in amounts[f] and (12, "both") in amounts[f] for f in range(41, 50))
    frames = list(render_frames(face, find_landmarks(face), spec))
    a = warper.anatomy
    mouth = warper._pixel_box("mouth")
    box = (slice(mouth[0].start + warper.y0, mouth[0].stop + warper.y0),
           slice(mouth[1].start + warper.x0, mouth[1].stop + warper.x0))

    def change(f, g, region=box):
        return np.abs(frames[f][region].astype(int) - frames[g][region].astype(int)).mean()

    assert change(10, 0) < 0.5  # nothing happens before the posed smile
    assert change(30, 0) > 1  # the posed smile
    assert change(70, 0) == pytest.approx(change(30, 0), rel=0.5)  # held
    assert max(change(f, f - 1) for f in range(36, 60)) > 3 * max(change(f, f - 1) for f in range(61, 67))  # speech
    eye = (slice(int(a.to_image(a.eye_centre["L"])[1]) - 6, int(a.to_image(a.eye_centre["L"])[1]) + 6), slice(None))
    assert change(44, 41, eye) > change(41, 40, eye)  # the blink closes the eyes
    whole = (slice(None), slice(None))
    assert change(48, 37, whole) > 3 * change(37, 36, whole)  # the head turns away mid-event


def test_random_specs_overlap_distractors_and_are_seeded():
    specs = [random_clip_spec(s) for s in range(80)]
    assert random_clip_spec(7) == random_clip_spec(7)
    overlap = posed = 0
    for spec in specs:
        ev = spec.events[0]
        assert ev.role == "expression" and ev.aus and 0 < ev.aus[0].intensity <= 0.75
        assert ev.kind(spec.fps) == "micro" or ev.offset - ev.onset > 0.5 * spec.fps
        spans = distractor_spans(spec)
        hit = [s for k, v in spans.items() if k != "posed" for s in v if s[0] <= ev.offset and s[1] >= ev.onset]
        overlap += bool(hit) or len(spec.events) > 1
        if len(spec.events) > 1:
            p = spec.events[1]
            posed += 1
            assert p.role == "posed" and p.kind(spec.fps) == "macro" and p.onset < ev.onset and p.offset > ev.offset
        assert len(spec.events) <= 2
    assert overlap >= 0.4 * len(specs)
    assert 0.08 * len(specs) <= posed <= 0.35 * len(specs)
    micro = [s.events[0].aus[0].intensity for s in specs if s.events[0].kind(s.fps) == "micro"]
    assert max(micro) <= 0.5  # micro-expressions are subtle: FACS A-C
    assert all(s.events[0].kind(s.fps) == "micro" for s in (random_clip_spec(i, micro=True) for i in range(10)))


def test_200_fps_clip(tmp_path, face):
    spec = ClipSpec(120, 200.0, [InjectedEvent(40, 60, 100, [InjectedAU(12, "R", 0.4)])],
                    Distractors(head_shift_px=2, blinks=[70], blink_frames=30, talking=(50, 90)))
    truth = make_clip(face, spec, tmp_path / "fast")
    assert len(list((tmp_path / "fast").glob("img*.jpg"))) == 120 and truth["fps"] == 200.0
    assert truth["events"][0]["kind"] == "micro" and truth["events"][0]["offset_s"] == 0.5
    fast = random_clip_spec(4, fps=200.0, duration_s=3.0, micro=True)
    ev = fast.events[0]
    assert fast.n_frames == 600 and 50 <= ev.offset - ev.onset <= 90 and ev.offset < 600  # 0.25-0.45 s
    assert fast.distractors.blink_frames >= 20  # a blink lasts 0.1-0.25 s at any frame rate
    talk = frame_amounts(spec, 70, {(26, "both"): np.linspace(0, 1, 41)})
    assert talk[(26, "both")] == pytest.approx(20 / 40)


def test_rendering_is_fast(face):
    """A 90-frame 360x360 clip with an event, head sway and a blink renders in about a second."""
    lm = find_landmarks(face)
    spec = ClipSpec(90, 30.0, [InjectedEvent(40, 46, 52, [InjectedAU(12, "L", 0.4)])],
                    Distractors(head_shift_px=3, head_rotation_deg=1, blinks=[10], blink_frames=5))
    list(render_frames(face, lm, spec))  # unit fields cached per face
    t = time.process_time()
    frames = list(render_frames(face, lm, spec))
    assert len(frames) == 90 and time.process_time() - t < 3.0


@pytest.mark.realdata
def test_many_faces(shared_data, tmp_path):
    """Any photo with a face works: the shared photos, cropped to the face."""
    photos = shared_face_photos(shared_data)
    assert len(photos) >= 40
    for path in photos[::30]:
        img = face_crop(path)
        w = face_warper(img, find_landmarks(img, str(path)))
        moved = track_dot(w, w.anatomy.corner["R"], {(12, "R"): 0.5})
        assert moved[1] < -0.05 and moved[0] < -0.03, path.name  # the subject's right is -u
    make_clip(face_crop(photos[0]), random_clip_spec(1, duration_s=1.0, micro=True), tmp_path / "c")
    assert len(list((tmp_path / "c").glob("*.jpg"))) == 30


@pytest.mark.realdata
def test_injection_into_real_talking_video(shared_data, tmp_path):
    """Subtle micro-expressions injected into a real talking clip: every frame is written, the event
    frames change the face and the others are the source's."""
    from faceqa.media import open_media
    from faceqa.synth import inject_into_video

    video = shared_data / "videos/face_recognition/short_hamilton_clip.mp4"
    events = [InjectedEvent(4, 7, 11, [InjectedAU(12, "R", 0.3)]),
              InjectedEvent(17, 20, 24, [InjectedAU(4, "both", 0.4)])]
    truth = inject_into_video(video, events, tmp_path / "inj.avi", start=100, end=129)
    assert truth["n_frames"] == 30 and truth["source_start"] == 100 and truth["face_missing"] == []
    assert json.loads((tmp_path / "inj.json").read_text())["events"][1]["kind"] == "micro"
    out = [f.image for f in open_media(tmp_path / "inj.avi")]
    src = [f.image for f in open_media(video, start=100, end=129)]
    assert len(out) == 30
    diff = [np.abs(o.astype(int) - s.astype(int)).max() for o, s in zip(out, src, strict=True)]
    assert max(diff[:5]) == 0 and max(diff[11:18]) == 0 and max(diff[24:]) == 0
    assert diff[7] > 10 and diff[20] > 10
    assert ground_truth(ClipSpec(30, truth["fps"], events))["events"] == truth["events"]
