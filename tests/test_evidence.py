"""Evidence from video: alignment, regional motion, AU activity, spotting, on generated clips."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from signal_fixtures import measured_shape

from faceqa.evidence.align import FaceAligner, similarity
from faceqa.evidence.au_activity import AU_MOTIONS, au_activity, au_columns
from faceqa.evidence.au_intensity import INTENSITY_AUS, intensity_columns, letter, solve_intensity
from faceqa.evidence.extract import extract_evidence
from faceqa.evidence.face_geometry import MEASURES, CanonicalFace, face_measures
from faceqa.evidence.generated_eval import score_generated_clips
from faceqa.evidence.regions import region_keys
from faceqa.evidence.spotting import (
    SpotConfig,
    au_signals,
    fast_head,
    intervals_from_signal,
    noise_level,
    side_of,
    spot_intervals,
)
from faceqa.evidence.talking import TalkingConfig, bridged, spans, talking_mask
from faceqa.perception import FacePipeline
from faceqa.synth import ClipSpec, Distractors, InjectedAU, InjectedEvent, make_clip


@pytest.fixture(scope="module")
def face(astronaut):
    return np.ascontiguousarray(astronaut[0:360, 45:405])


@pytest.fixture(scope="module")
def pipe():
    return FacePipeline(emotion=None, quality=False)


def test_similarity_recovers_a_known_transform():
    rng = np.random.default_rng(0)
    src = rng.uniform(0, 100, (20, 2))
    ang, scale, t = 0.3, 1.7, np.array([5.0, -3.0])
    rot = scale * np.array([[np.cos(ang), -np.sin(ang)], [np.sin(ang), np.cos(ang)]])
    m = similarity(src, src @ rot.T + t)
    assert np.allclose(m[:, :2], rot, atol=1e-9) and np.allclose(m[:, 2], t, atol=1e-9)


def test_alignment_takes_out_head_motion(face, pipe):
    """The same face rotated and shifted aligns onto (nearly) the same crop."""
    m = cv2.getRotationMatrix2D((180, 140), 12, 1.05)
    m[:, 2] += (9, -6)
    moved = cv2.warpAffine(face, m, (360, 360), borderMode=cv2.BORDER_REFLECT)
    aligner = FaceAligner(128)
    crops = []
    for img in (face, moved):
        lm = pipe.analyze_image(img)[0].landmarks
        crop, _ = aligner.align(cv2.cvtColor(img, cv2.COLOR_RGB2GRAY), lm)
        crops.append(crop.astype(float))
    raw = np.abs(cv2.resize(cv2.cvtColor(moved, cv2.COLOR_RGB2GRAY), (128, 128)).astype(float)
                 - cv2.resize(cv2.cvtColor(face, cv2.COLOR_RGB2GRAY), (128, 128)).astype(float)).mean()
    aligned = np.abs(crops[1] - crops[0])[16:112, 16:112].mean()
    assert aligned < 0.35 * raw


def test_region_flow_is_each_region_median_minus_the_rigid_skin_median(face, pipe):
    """The vectorised pooling gives, per FACS region, the plain median of the flow inside its disc
    minus that of the rigid reference skin."""
    from faceqa.evidence.motion import RegionalMotion

    aligner = FaceAligner(128)
    crop, lm = aligner.align(cv2.cvtColor(face, cv2.COLOR_RGB2GRAY), pipe.analyze_image(face)[0].landmarks)
    motion = RegionalMotion(30.0, 128, aligner.iod)
    motion.update(crop, lm)
    flow = np.random.default_rng(0).normal(0, 1, (128, 128, 2)).astype(np.float32)
    motion._flow = lambda a, b: flow
    pooled = motion._pooled(crop, crop)
    flat = flow.reshape(-1, 2)
    regions = [index[~padding] for index, padding in zip(motion._index, motion._padding, strict=True)]
    expected = np.stack([np.median(flat[r], axis=0) for r in regions[:-1]]) - np.median(flat[regions[-1]], axis=0)
    assert pooled.shape == (len(region_keys()), 2) and np.allclose(pooled, expected, atol=1e-6)


def test_a_failure_in_the_measuring_thread_reaches_the_caller(tmp_path, face, pipe, monkeypatch):
    """The optical flow runs on a worker thread; an error there is raised by ``finish`` (or by a
    later ``add``) as itself, and the thread is gone afterwards."""
    import threading

    from faceqa.evidence.extract import EvidenceCollector
    from faceqa.evidence.motion import RegionalMotion
    from faceqa.media import open_media

    make_clip(face, ClipSpec(20, 30.0, []), tmp_path / "clip")
    calls = []

    def broken(self, face, landmarks):
        calls.append(1)
        raise RuntimeError("measure failed")

    monkeypatch.setattr(RegionalMotion, "update", broken)
    media = open_media(tmp_path / "clip", fps=30)
    collector = EvidenceCollector(30.0)
    with pytest.raises(RuntimeError, match="measure failed"):  # from add, once a few frames wait
        for frame, records in pipe.stream(media):
            collector.add(frame, records)
    with pytest.raises(RuntimeError, match="measure failed"):  # from finish, for those still waiting
        collector.finish(media.info)
    assert calls and not any(t.name.startswith("faceqa-evidence") for t in threading.enumerate())


def test_au_activity_formula_directions():
    keys = region_keys()
    disp = np.zeros((1, len(keys), 2), np.float32)
    left_corner = keys.index(("lip_corner", "L"))
    disp[0, left_corner] = (0.03, -0.05)  # subject's left corner: out (+x on the image) and up (-y)
    act = dict(zip(au_columns(), au_activity(disp)[0], strict=True))
    assert act["au_12_L"] == pytest.approx(min(1.0, (0.55 * 0.03 + 0.83 * 0.05) / 0.06), abs=1e-5)
    assert act["au_12_R"] == 0.0 and act["au_15_L"] == 0.0
    brow = keys.index(("inner_brow", "R"))
    disp[:] = 0
    disp[0, brow] = (0.0, -0.025)  # right inner brow up by half of full intensity
    act = dict(zip(au_columns(), au_activity(disp)[0], strict=True))
    assert act["au_1_R"] == pytest.approx(0.5, abs=1e-5) and act["au_4_R"] == 0.0
    assert len(au_columns()) == 2 * len(AU_MOTIONS)


def test_canonical_frame_takes_out_3d_head_rotation(face, pipe):
    """The mesh rotated in 3-D (yaw 25 degrees, pitch 10) and scaled gives the same measures."""
    lm = pipe.analyze_image(face)[0].landmarks[:468].astype(np.float64)
    yaw, pitch = np.radians(25), np.radians(10)
    ry = np.array([[np.cos(yaw), 0, np.sin(yaw)], [0, 1, 0], [-np.sin(yaw), 0, np.cos(yaw)]])
    rx = np.array([[1, 0, 0], [0, np.cos(pitch), -np.sin(pitch)], [0, np.sin(pitch), np.cos(pitch)]])
    centre = lm.mean(0)
    turned = 1.3 * (lm - centre) @ (rx @ ry).T + centre + (40, -10, 0)
    canon = CanonicalFace()
    first = face_measures(canon(lm))
    assert np.abs(face_measures(canon(turned)) - first).max() < 1e-6
    # a mouth opening moves only what it should: lower lip and chin 0.1 IOD down
    opened = lm.copy()
    iod = np.linalg.norm(lm[[362, 263]].mean(0) - lm[[33, 133]].mean(0))
    lower = [14, 17, 152, 175, 199, 18, 200]
    opened[lower, 1] += 0.1 * iod
    delta = dict(zip(MEASURES, face_measures(canon(opened)) - first, strict=True))
    assert delta["mouth_open"] == pytest.approx(0.1, abs=0.01) and delta["jaw_drop"] == pytest.approx(0.1, abs=0.01)
    assert abs(delta["brow_inner_L"]) < 0.005 and abs(delta["eye_open_R"]) < 0.005


def _signature_change(au: int, side: str, intensity: float) -> np.ndarray:
    """The measurement vector an AU's signature predicts (geometry and flow), at an intensity."""
    from faceqa.evidence.au_intensity import _columns, basis

    col = _columns().index((au, side))
    return basis()[:, col] * intensity / 5.0


@pytest.mark.parametrize("au, side", [(12, "L"), (4, "R"), (26, "C"), (1, "L"), (15, "R")])
def test_solve_intensity_recovers_a_signature(au, side):
    y = _signature_change(au, side, 3.0)[None]
    rng = np.random.default_rng(0)
    y = y + rng.normal(0, 0.002, y.shape)
    out = dict(zip(intensity_columns(), solve_intensity(y)[0], strict=True))
    col = f"au_{au}_{'L' if side == 'C' else side}"
    assert out[col] == pytest.approx(3.0, abs=0.4)
    others = [v for k, v in out.items() if not k.startswith(f"au_{au}_")]
    assert max(others) < 0.8
    if side in ("L", "R"):
        assert out[f"au_{au}_{'R' if side == 'L' else 'L'}"] < 0.5


def test_smile_with_an_open_mouth_is_not_read_as_other_aus():
    """Explaining away: the smile's own side effects (nose wings up, lips thinner) and an open mouth
    are not read as nose wrinkler, lip pressor or lip corner depressor."""
    y = (_signature_change(12, "L", 4.0) + _signature_change(12, "R", 4.0) + _signature_change(25, "C", 3.0))[None]
    out = dict(zip(intensity_columns(), solve_intensity(y)[0], strict=True))
    assert out["au_12_L"] > 3.5 and out["au_25_L"] > 2.5
    assert out["au_9_L"] < 0.5 and out["au_24_L"] < 0.5 and out["au_15_L"] < 0.5


def test_intensity_letters():
    assert [letter(v) for v in (0.2, 0.6, 1.6, 2.7, 3.9, 4.6, 7.0)] == ["", "A", "B", "C", "D", "E", "E"]


def test_side_of():
    assert side_of(0.9, 0.1) == "L" and side_of(0.1, 0.8) == "R" and side_of(0.7, 0.6) == "both"


def test_intervals_from_a_hand_made_signal():
    fps = 30.0
    signal = np.zeros(150)
    signal[40:52] = 3 * np.hanning(12)  # 0.4 s: micro
    signal[90:130] = 2.5 * np.hanning(40)  # 1.3 s: macro
    signal += np.random.default_rng(1).normal(0, 0.03, 150).clip(0)
    (a1, _, b1), (_, apex2, _) = intervals_from_signal(signal, fps, SpotConfig())
    assert abs(a1 - 40) <= 2 and abs(b1 - 51) <= 2
    assert abs(apex2 - 110) <= 2
    assert noise_level(signal, 4.0) < 0.5


def _plateau(n: int, ramp: int) -> np.ndarray:
    """An expression's shape: raised-cosine rise over ``ramp`` frames, hold, fall."""
    up = 0.5 - 0.5 * np.cos(np.pi * np.arange(ramp) / ramp)
    return np.r_[up, np.ones(n - 2 * ramp), up[::-1]]


def test_fast_head_motion_is_bridged_not_read():
    """Frames where the head turns fast are not read: a brow raise held through a quick head turn keeps its
    level across it (interpolated from either side), so its interval is whole; the configuration split
    still ends a configuration at the turn unless the person talks; a clip that is all fast turning gives
    no signal."""
    fps, n = 30.0, 90
    intensity = np.zeros((n, 2 * len(INTENSITY_AUS)), np.float32)
    j = INTENSITY_AUS.index(1)
    intensity[20:70, 2 * j:2 * j + 2] = 3.0
    intensity[41:47, 2 * j:2 * j + 2] = 0.0  # what the turn does to the reading
    pose = np.zeros((n, 3))
    pose[40:46, 0] = np.arange(6) * 15.0  # 15 degrees a frame (450 deg/s): frames 41-47 are fast
    pose[46:, 0] = 75.0
    signals = au_signals(intensity, fps, pose)
    shape = measured_shape(signals)
    assert np.allclose(signals[38:48, INTENSITY_AUS.index(1)], 3.0)
    assert [(a, b) for a, _, b in spot_intervals(signals, shape, fps)] == [(20, 69)]
    # the configuration split still sees the turn: outside talking it ends a configuration there ...
    unread = fast_head(pose, fps, SpotConfig().max_head_speed_dps)
    assert np.flatnonzero(unread).tolist() == list(range(41, 48))
    apart = [(a, b) for a, _, b in spot_intervals(signals, shape, fps, unread=unread)]
    assert len(apart) == 2 and apart[0][0] == 20 and apart[1][1] == 69 and 40 <= apart[0][1] < apart[1][0] <= 48
    # ... while a run the person talks through is one event
    talking = np.ones(n, bool)
    assert [(a, b) for a, _, b in spot_intervals(signals, shape, fps, talking=talking, unread=unread)] == [(20, 69)]
    with pytest.raises(ValueError, match="unread mask"):
        spot_intervals(signals, shape, fps, unread=unread[:10])
    spinning = np.c_[np.arange(n) * 10.0, np.zeros(n), np.zeros(n)]
    assert not au_signals(intensity, fps, spinning).any()


def test_grouping_keeps_an_expression_together_and_a_change_apart():
    fps = 30.0
    signals = np.zeros((300, len(INTENSITY_AUS)))
    j = {au: INTENSITY_AUS.index(au) for au in (4, 15, 12, 6)}
    signals[20:110, j[4]] = 3 * _plateau(90, 9)  # sadness: 4 + 15 together
    signals[25:105, j[15]] = 2.5 * _plateau(80, 9)
    signals[100:280, j[12]] = 4 * _plateau(180, 9)  # then a smile with 6: a second event
    signals[110:270, j[6]] = 2.5 * _plateau(160, 9)
    events = spot_intervals(signals, measured_shape(signals), fps, SpotConfig())
    assert len(events) == 2
    (a1, _, b1), (a2, _, b2) = events
    assert abs(a1 - 20) <= 5 and abs(b2 - 280) <= 5
    assert 100 <= b1 < a2 <= 110  # the sad face ends where the smile takes over, in their overlap


def test_talking_mask_finds_speech_rhythm_but_not_one_wide_open_mouth():
    fps = 30.0
    tt = np.arange(240) / fps
    mouth = np.full(240, 0.01)
    mouth[30:120] += 0.08 * (0.5 - 0.5 * np.cos(2 * np.pi * 4 * tt[30:120]))  # 3 s of syllables at 4 Hz
    mouth[160:200] += 0.4 * np.hanning(40)  # one jaw drop
    mask = talking_mask(mouth, fps)
    assert mask[40:110].all() and not mask[:20].any() and not mask[150:].any()
    assert spans(mask)[0][0] <= 35


def test_a_short_pause_between_words_is_still_talking():
    """Two runs of syllables 1.1 s apart (peak to peak; their padded spans 0.25 s apart) are one talking
    span, the pause bridged; ``bridge_s=0`` bridges nothing; 1.8 s apart they stay two."""
    fps = 30.0
    tt = np.arange(300) / fps
    syllables = 0.08 * (0.5 - 0.5 * np.cos(2 * np.pi * 4 * tt))

    def talk(pause: int) -> np.ndarray:
        mouth = np.full(300, 0.01)
        mouth[30:90] += syllables[30:90]
        mouth[90 + pause:150 + pause] += syllables[30:90]
        return mouth

    assert spans(talking_mask(talk(24), fps)) == [(22, 182)]
    assert len(spans(talking_mask(talk(24), fps, TalkingConfig(bridge_s=0.0)))) == 2
    apart = talking_mask(talk(45), fps)
    assert len(spans(apart)) == 2 and not apart[100:125].any()
    assert bridged(np.array([1, 0, 0, 1, 0, 0, 0, 1], bool), 2).tolist() == [1, 1, 1, 1, 0, 0, 0, 1]


def test_a_talker_keeps_talking_in_quieter_stretches_a_face_puller_does_not():
    """Clear syllables over half the frames make the face a talker: the quieter syllables (prominence
    0.02, under the usual 0.03) later in its clip are talking too. The same quiet syllables in a clip
    without clear speech are not, and ``talker_prominence`` at ``prominence`` turns the rule off."""
    fps = 30.0
    tt = np.arange(360) / fps
    rhythm = 0.5 - 0.5 * np.cos(2 * np.pi * 4 * tt)
    quiet = np.full(360, 0.01)
    quiet[240:330] += 0.02 * rhythm[240:330]
    talker = quiet.copy()
    talker[20:200] += 0.08 * rhythm[20:200]
    mask = talking_mask(talker, fps)
    assert mask[245:325].all() and not mask[215:230].any()
    assert not talking_mask(talker, fps, TalkingConfig(talker_prominence=0.03))[250:320].any()
    assert not talking_mask(quiet, fps).any()


def test_talking_needs_a_voice_where_the_sound_has_one():
    """Syllable-rate mouth motion with a voice elsewhere in the sound but none during it is not talking
    (pulling faces); with the voice during it, it is; a track without any voice vetoes nothing."""
    fps = 30.0
    tt = np.arange(300) / fps
    mouth = np.full(300, 0.01)
    mouth[30:120] += 0.08 * (0.5 - 0.5 * np.cos(2 * np.pi * 4 * tt[30:120]))
    voice_later = np.where(np.arange(300) >= 200, 0.9, 0.0)
    assert not talking_mask(mouth, fps, speech=voice_later)[40:110].any()
    voice_during = np.where((np.arange(300) >= 60) & (np.arange(300) < 70), 0.4, 0.0) + voice_later
    assert talking_mask(mouth, fps, speech=voice_during)[40:110].all()
    assert talking_mask(mouth, fps, speech=np.zeros(300))[40:110].all()
    assert not talking_mask(mouth, fps, TalkingConfig(voice_veto=0.5), speech=voice_during)[40:110].any()


def test_still_image_repeated_gives_no_event(tmp_path, face, pipe):
    make_clip(face, ClipSpec(60, 30.0, []), tmp_path / "still")
    ev = extract_evidence(tmp_path / "still", fps=30, pipeline=pipe)
    assert ev.events == []
    assert np.nanmax(ev.activity()) < 0.05


@pytest.mark.parametrize("au, side, level, fps",
                         [(12, "L", 0.5, 30.0), (4, "both", 0.8, 30.0), (4, "both", 0.8, 200.0)])
def test_injected_au_is_spotted_and_named(tmp_path, face, pipe, au, side, level, fps):
    """A C-D level AU (the independent muscle-model generator) with head sway and a blink before it."""
    k = fps / 30
    ev_truth = InjectedEvent(int(40 * k), int(46 * k), int(52 * k), [InjectedAU(au, side, level)])
    spec = ClipSpec(int(90 * k), fps, [ev_truth],
                    Distractors(head_shift_px=3, head_rotation_deg=1, blinks=[int(10 * k)], blink_frames=int(5 * k)))
    make_clip(face, spec, tmp_path / "clip")
    ev = extract_evidence(tmp_path / "clip", fps=fps, pipeline=pipe)
    hits = [e for e in ev.events if e.onset <= ev_truth.apex <= e.offset]
    assert len(hits) == 1 and hits[0].kind == "micro"
    assert hits[0].aus[0].au == au and hits[0].aus[0].side == side
    summary = ev.au_summary(ev_truth.onset, ev_truth.offset)
    assert summary.iloc[0]["au"] == au


def test_generated_clips_without_distractors(tmp_path, face, pipe):
    """Ten clips (30 fps) with one random subtle (FACS A-C) AU event each: spotting is precise but misses
    the subtlest events (measured on seeds 0-9: precision 1.00, recall 0.40, F1 0.57; the target of
    issue 9 is F1 >= 0.8); the injected AU is among the two strongest in 0.9 of the clips, its side
    right in all."""
    s = score_generated_clips(face, range(10), tmp_path, pipe, distractors=False)
    o = s.spotting.overall
    assert o.precision >= 0.9 and o.recall >= 0.3, s.summary()
    assert s.au_top2 >= 0.8 and s.side >= 0.9, s.summary()


def test_generated_clips_with_overlapping_distractors(tmp_path, face, pipe):
    """Six clips (30 fps) with overlapping talking, head turns, blinks and posed expressions: a floor that
    guards against spotting getting worse (measured on seeds 0-5: F1 0.31, precision 0.33, recall 0.29;
    0.40 / 0.38 / 0.43 before expressions were split by configuration, which the real clips favour)."""
    s = score_generated_clips(face, range(6), tmp_path, pipe, distractors=True)
    assert s.spotting.overall.f1 >= 0.3, s.summary()
