"""The evidence pass: perception stream -> aligned face -> geometry and motion -> AU intensity -> events.

One streaming pass over the media follows one face (the largest, or ``face_id``); only a few
numbers per frame are kept, so memory stays flat for long videos. Per frame it measures the
pose-normalised 3-D mesh geometry (:mod:`~faceqa.evidence.face_geometry`, ``face_*`` columns) and
the optical-flow displacement of the FACS regions from the segment's first frame (``disp_*``),
both lightly smoothed. At the end, per face segment:

1. the neutral reference (:mod:`~faceqa.evidence.neutral`): the first frame in ``"clip"`` mode
   (the onset of an MEGC clip), a rolling rest reference in ``"long"`` mode; ``"auto"`` picks
   ``clip`` for sources up to 6 s and ``long`` beyond;
2. AU intensities on the FACS A-E scale relative to it (:mod:`~faceqa.evidence.au_intensity`,
   ``au_{n}_{L|R}`` columns, 0-5);
3. talking spans from the mouth's syllable rhythm (:mod:`~faceqa.evidence.talking`, ``talking``);
4. spotting (:mod:`~faceqa.evidence.spotting`, ``signal``) and, for every event, its AUs.

Whatever the mode, the AUs of an interval (an event, or a clip's onset..offset) are read by one
function, :meth:`Evidence.interval_intensity`: each AU's peak intensity (relative to the neutral
reference, single-frame spikes taken out) over the interval; ``faceqa spot``, ``faceqa aus``,
``faceqa ask`` and the composer all use it.
"""

from __future__ import annotations

from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field, replace

import cv2
import numpy as np

from faceqa.evidence.align import FaceAligner
from faceqa.evidence.au_intensity import (
    INTENSITY_AUS,
    expression_energy,
    fused_intensity,
    intensity_columns,
    letter,
    measurements,
    noise_levels,
)
from faceqa.evidence.face_geometry import MEASURES, CanonicalFace, face_measures
from faceqa.evidence.mesh_features import FEATURES, mesh_features
from faceqa.evidence.motion import RegionalMotion
from faceqa.evidence.neutral import long_reference
from faceqa.evidence.regions import region_keys
from faceqa.evidence.spotting import (
    DEFAULT_CONFIG,
    ActiveAU,
    Event,
    SpotConfig,
    active_aus,
    au_signals,
    despiked,
    events_dataframe,
    fast_head,
    make_event,
    side_of,
    spot_intervals,
    talked_through,
)
from faceqa.evidence.talking import spans, talking_mask
from faceqa.media import Media, MediaInfo, open_media

CLIP_MAX_S = 6.0


def _face_changes(face: np.ndarray, seg: np.ndarray) -> np.ndarray:
    """Face measures (T, M) as changes from each segment's first frame."""
    out = np.full_like(face, np.nan)
    for s in np.unique(seg[seg >= 0]):
        idx = np.flatnonzero(seg == s)
        out[idx] = face[idx] - face[idx[0]]
    return out


def read_interval(intensity: np.ndarray, start: int, stop: int) -> np.ndarray:
    """Per AU and side, the peak intensity over rows [start, stop] (single-frame spikes taken out by a
    3-frame median first): the one AU read-out of an interval."""
    return despiked(intensity[start:stop + 1]).max(axis=0)


@dataclass
class Evidence:
    """Per-frame evidence for one face and the events spotted in it.

    ``table`` columns: ``frame``, ``time_s``, ``face_id``, ``segment`` (a new one each time the face
    is re-acquired; -1 where no face), ``pose_yaw/pitch/roll``, ``disp_{region}_{side}_x/_y``
    (region displacement, IOD, from the segment's first frame), ``geom_*`` (2-D mesh features minus
    the first frame's, IOD), ``face_*`` (pose-normalised 3-D measures, absolute, IOD; see
    :mod:`~faceqa.evidence.face_geometry`), ``au_{n}_{L|R}`` (AU intensity, 0-5 FACS scale,
    relative to the neutral reference of ``mode``), ``talking`` (bool) and ``signal`` (spotting signal).
    """

    info: MediaInfo
    fps: float
    mode: str
    table: object  # pandas.DataFrame
    events: list[Event] = field(default_factory=list)
    faces: np.ndarray | None = None
    """Aligned gray faces (T, 128, 128) uint8, one per table row (zeros where no face), when
    ``keep_faces`` was asked (short clips: for a vision encoder); None otherwise."""
    baseline_s: float = 12.0
    """Window (seconds) of the ``long`` mode's rolling rest reference."""
    speech: np.ndarray | None = None
    """The audio's speech probability at each table row, when the video has sound (talking uses it)."""

    def displacements(self) -> np.ndarray:
        """Region displacements (T, K, 2) from the segment start, in IOD."""
        cols = [f"disp_{n}_{s}_{a}" for n, s in region_keys() for a in ("x", "y")]
        return self.table[cols].to_numpy(np.float32).reshape(len(self.table), -1, 2)

    def measurements(self) -> np.ndarray:
        """What the AU intensities are solved from (T, D): face-measure changes and region flow, both
        from each segment's first frame (see :func:`~faceqa.evidence.au_intensity.measurements`)."""
        face = self.table[[f"face_{m}" for m in MEASURES]].to_numpy(np.float64)
        return measurements(_face_changes(face, self.table["segment"].to_numpy()), self.displacements())

    def activity(self) -> np.ndarray:
        """AU intensities (T, 2 * n_aus), 0-5, in :func:`~faceqa.evidence.au_intensity.intensity_columns` order."""
        return self.table[intensity_columns()].to_numpy(np.float32)

    def talking_spans(self) -> list[tuple[int, int]]:
        """(first, last) frames of the spans where the person talks."""
        frames = self.table["frame"].to_numpy()
        return [(int(frames[a]), int(frames[b])) for a, b in spans(self.table["talking"].to_numpy(bool))]

    def events_dataframe(self):
        """Spotted events as a DataFrame."""
        return events_dataframe(self.events)

    def respot(self, config: SpotConfig = DEFAULT_CONFIG) -> Evidence:
        """This evidence read again with other spotting settings: steps 1-4 of the module docstring
        (AU intensities, talking, signal, events) from the table's measurements, no frame decoded again."""
        import pandas as pd

        t = self.table
        pose = t[["pose_yaw", "pose_pitch", "pose_roll"]].to_numpy(np.float64)
        intensity, talking, signal, events = analyse_segments(
            self.measurements(), t["face_mouth_open"].to_numpy(np.float64), pose, t["frame"].to_numpy(),
            t["time_s"].to_numpy(), t["segment"].to_numpy(), self.fps, self.mode, config, self.baseline_s, self.speech)
        read = pd.DataFrame({c: intensity[:, i] for i, c in enumerate(intensity_columns())} |
                            {"talking": talking, "signal": signal}, index=t.index)
        table = pd.concat([t.drop(columns=read.columns, errors="ignore"), read], axis=1)
        return replace(self, table=table, events=events)

    def span(self, onset: int | None, offset: int | None) -> tuple[int, int] | None:
        """Table rows (first, last) of [onset, offset] within one face segment, or None when no face is there."""
        frames = self.table["frame"].to_numpy()
        seg = self.table["segment"].to_numpy()
        keep = (seg >= 0) & (frames >= (onset if onset is not None else frames.min()))
        keep &= frames <= (offset if offset is not None else frames.max())
        idx = np.flatnonzero(keep)
        if not len(idx):
            return None
        first = idx[0]
        idx = idx[seg[idx] == seg[first]]  # one face segment: displacements share a reference
        return int(idx[0]), int(idx[-1])

    def interval_intensity(self, onset: int | None = None, offset: int | None = None) -> np.ndarray:
        """Peak intensity (2 * n_aus,) within [onset, offset] (frames), relative to the neutral reference."""
        span = self.span(onset, offset)
        if span is None:
            return np.zeros(2 * len(INTENSITY_AUS), np.float32)
        return read_interval(self.activity(), *span)

    def interval_talking(self, onset: int | None = None, offset: int | None = None) -> bool:
        """True when the person talks during most of [onset, offset]."""
        span = self.span(onset, offset)
        return span is not None and talked_through(self.table["talking"].to_numpy(bool), *span)

    def au_summary(self, onset: int | None = None, offset: int | None = None,
                   config: SpotConfig = DEFAULT_CONFIG):
        """Peak intensity per AU and side within [onset, offset] (all frames by default; :meth:`interval_intensity`).

        Columns: ``au``, ``name``, ``L``, ``R``, ``intensity`` (0-5 FACS scale; the larger side),
        ``letter`` (A-E), ``peak`` (intensity / 5, capped at 1), ``side`` (L/R/both), ``active``
        (see :func:`~faceqa.evidence.spotting.active_aus`); sorted by intensity.
        """
        import pandas as pd

        from faceqa.facs.units import au_by_number

        value = self.interval_intensity(onset, offset)
        active = {a.au for a in active_aus(value, config, include_distractors=True)}
        out = []
        for j, au in enumerate(INTENSITY_AUS):
            left, right = float(value[2 * j]), float(value[2 * j + 1])
            top = max(left, right)
            out.append({"au": au, "name": au_by_number(au).name, "L": round(left, 3), "R": round(right, 3),
                        "intensity": round(top, 3), "letter": letter(top), "peak": round(min(top / 5.0, 1.0), 4),
                        "side": side_of(left, right, config.bilateral_ratio), "active": au in active})
        return pd.DataFrame(out).sort_values("intensity", ascending=False, kind="stable", ignore_index=True)

    def active_aus(self, onset: int | None = None, offset: int | None = None,
                   config: SpotConfig = DEFAULT_CONFIG) -> list[ActiveAU]:
        """AUs active within [onset, offset] (see :meth:`interval_intensity`), strongest first, with sides."""
        return active_aus(self.interval_intensity(onset, offset), config,
                          talking=self.interval_talking(onset, offset))


class EvidenceExtractor:
    """Streaming per-frame evidence for one face track (see :func:`extract_evidence`)."""

    def __init__(self, fps: float, size: int = 128, flow: str = "farneback"):
        self.fps = fps
        self.size = size
        self.flow = flow
        self.segment = -1
        self._aligner: FaceAligner | None = None
        self._motion: RegionalMotion | None = None
        self._geom0: np.ndarray | None = None
        self._canonical: CanonicalFace | None = None

    def start_segment(self) -> None:
        """Begin a new reference (a new face, or the face found again after being lost)."""
        self.segment += 1
        self._aligner = FaceAligner(self.size)
        self._motion = RegionalMotion(self.fps, self.size, self._aligner.iod, self.flow)
        self._geom0 = None
        self._canonical = CanonicalFace()

    @property
    def motion(self) -> RegionalMotion:
        """The current segment's regional motion (its ``update`` takes :meth:`shape`'s aligned face and points)."""
        return self._motion

    def shape(self, image: np.ndarray, landmarks: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """(aligned gray face, aligned landmarks (N, 2), mesh-feature deltas (F,), 3-D face measures (M,))
        for one frame: everything but the optical flow."""
        gray = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY)
        face, lm = self._aligner.align(gray, landmarks)
        geom = mesh_features(lm, self._aligner.iod)
        if self._geom0 is None:
            self._geom0 = geom
        return face, lm, geom - self._geom0, face_measures(self._canonical(landmarks))


MAX_PENDING = 8
"""Frames whose optical flow may wait on the worker thread (bounds the aligned faces held, 16 KB each)."""
MIN_FACE_PX = 60.0
"""Faces smaller than this (pixels, the record's size) are too small to read AUs from: a wide shot's
tiny faces give no evidence instead of noise."""


def _pick(records: list, face_id: int | None):
    records = [r for r in records if r.size_px >= MIN_FACE_PX]
    if not records:
        return None
    if face_id is not None:
        return next((r for r in records if r.face_id == face_id), None)
    return max(records, key=lambda r: r.size_px)


class EvidenceCollector:
    """The evidence pass as a consumer of a perception stream: ``add`` each frame, then ``finish``.

    This lets one decoding pass feed several consumers (evidence, expression, identity, quality);
    :func:`extract_evidence` is the loop for when evidence is all that is wanted. The face's optical
    flow runs on one worker thread while the caller decodes, tracks and aligns the next frames;
    ``finish`` collects it (an error there is raised by ``add`` or ``finish``) and ends the thread.

    Args:
        fps: the source's frame rate.
        mode: ``"clip"`` or ``"long"`` (resolve ``"auto"`` with :func:`resolve_mode` first).
        face_id, flow, baseline_s, config, keep_faces: as :func:`extract_evidence`.
    """

    def __init__(self, fps: float, mode: str = "clip", face_id: int | None = None, flow: str = "farneback",
                 baseline_s: float = 12.0, config: SpotConfig = DEFAULT_CONFIG, keep_faces: bool = False):
        from faceqa.errors import InvalidInputError

        if mode not in ("clip", "long"):
            raise InvalidInputError(f"mode must be 'clip' or 'long' here, got {mode!r}")
        self.fps, self.mode, self.face_id = fps, mode, face_id
        self.baseline_s, self.config, self.keep_faces = baseline_s, config, keep_faces
        self._ext = EvidenceExtractor(fps, flow=flow)
        self._follow = face_id
        self._segment = -1
        self._blank = np.zeros((self._ext.size, self._ext.size), np.uint8)
        self._rows: dict[str, list] = {k: [] for k in ("frame", "time", "fid", "seg", "pose", "disp", "geom", "face")}
        self._faces: list[np.ndarray] = []
        self._worker: ThreadPoolExecutor | None = None
        self._pending: deque[tuple[int, Future]] = deque()

    def add(self, frame, records: list) -> None:
        """Take one frame (:class:`~faceqa.media.Frame`) and its face records from the perception stream."""
        rows = self._rows
        rec = _pick(records, self._follow)
        if rec is None and self.face_id is None:
            rec = _pick(records, None)
        rows["frame"].append(frame.index)
        rows["time"].append(frame.time_s)
        if rec is None:
            k, f = len(region_keys()), len(FEATURES)
            rows["fid"].append(-1)
            rows["seg"].append(-1)
            rows["pose"].append((np.nan, np.nan, np.nan))
            rows["disp"].append(np.full((k, 2), np.nan, np.float32))
            rows["geom"].append(np.full(f, np.nan, np.float32))
            rows["face"].append(np.full(len(MEASURES), np.nan, np.float32))
            if self.keep_faces:
                self._faces.append(self._blank)
            self._follow = self.face_id
            return
        # a new face, or the face found again, starts a new reference
        new_segment = rec.face_id != self._follow or self._segment < 0 or rows["seg"][-1] == -1
        if new_segment:
            self._segment += 1
            self._follow = rec.face_id
            self._ext.start_segment()
        face, lm, geom, measures = self._ext.shape(frame.image, rec.landmarks)
        rows["fid"].append(rec.face_id)
        rows["seg"].append(self._segment)
        rows["pose"].append(rec.pose)
        rows["geom"].append(geom)
        rows["face"].append(measures)
        rows["disp"].append(None)
        if self.keep_faces:
            self._faces.append(face)
        # the optical flow, the costliest measure, runs on one worker thread, in order, while the next
        # frame is decoded, tracked and aligned; a few frames at most wait for it, and finish collects
        # them and ends the thread
        if self._worker is None:
            self._worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="faceqa-evidence")
        self._pending.append((len(rows["frame"]) - 1, self._worker.submit(self._ext.motion.update, face, lm)))
        while len(self._pending) > MAX_PENDING:
            self._collect()

    def _collect(self) -> None:
        row, job = self._pending.popleft()
        self._rows["disp"][row] = job.result()

    def finish(self, info: MediaInfo, speech: np.ndarray | None = None) -> Evidence:
        """The :class:`Evidence` of every frame added so far (``info`` describes the source; ``speech``:
        the audio's speech probability at each frame added, see :func:`speech_for`)."""
        import pandas as pd

        from faceqa.errors import InvalidInputError

        try:
            while self._pending:
                self._collect()
        finally:
            self._pending.clear()
            if self._worker is not None:
                self._worker.shutdown(wait=True)
                self._worker = None
        rows, fps, config = self._rows, self.fps, self.config
        if not rows["frame"]:
            raise InvalidInputError(f"{info.path or 'media'}: no frames were read")
        frames = np.asarray(rows["frame"])
        times = np.asarray(rows["time"])
        seg = np.asarray(rows["seg"])
        disp = _smooth(np.stack(rows["disp"]), seg, fps)
        face = _smooth(np.stack(rows["face"]).astype(np.float64), seg, fps)
        geom = np.stack(rows["geom"])
        pose = np.asarray(rows["pose"], np.float64)
        table = pd.DataFrame({"frame": frames, "time_s": times, "face_id": rows["fid"], "segment": seg,
                              "pose_yaw": pose[:, 0], "pose_pitch": pose[:, 1], "pose_roll": pose[:, 2]})
        cols = {}
        for i, (name, side) in enumerate(region_keys()):
            cols[f"disp_{name}_{side}_x"] = disp[:, i, 0]
            cols[f"disp_{name}_{side}_y"] = disp[:, i, 1]
        cols |= {f"geom_{n}": geom[:, i] for i, n in enumerate(FEATURES)}
        cols |= {f"face_{n}": face[:, i] for i, n in enumerate(MEASURES)}
        table = pd.concat([table, pd.DataFrame(cols)], axis=1)
        measured = Evidence(info, fps, self.mode, table, faces=np.stack(self._faces) if self.keep_faces else None,
                            baseline_s=self.baseline_s, speech=speech)
        return measured.respot(config)


FLOW_MAX_TURN_DEG = 8.0
"""Head yaw or pitch (degrees) away from the flow's reference beyond which the flow is not used."""
TRANSIENT_S = 2.0
LONG_FLOW_NOISE = 0.06
LONG_MOUTH_FLOW_NOISE = 0.1
"""In long videos the flow, integrated over many key frames, drifts: only its changes over the last
:data:`TRANSIENT_S` seconds are used, with these (lower) weights; the mesh geometry, relative to the
rolling rest reference, carries the long expressions."""


def transient(x: np.ndarray, fps: float, window_s: float = TRANSIENT_S) -> np.ndarray:
    """``x`` (T, D) minus its centred rolling median over ``window_s`` seconds: what changes quickly."""
    from scipy.ndimage import median_filter

    width = max(3, int(round(window_s * fps)) | 1)
    return x - median_filter(np.nan_to_num(x), size=(width, 1), mode="nearest")


def analyse_segments(y: np.ndarray, mouth: np.ndarray, pose: np.ndarray, frames: np.ndarray, times: np.ndarray,
                     seg: np.ndarray, fps: float, mode: str, config: SpotConfig = DEFAULT_CONFIG,
                     baseline_s: float = 12.0, speech: np.ndarray | None = None,
                     ) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[Event]]:
    """Steps 1-4 of the module docstring for every face segment.

    Args:
        y: :func:`~faceqa.evidence.au_intensity.measurements` from each segment's first frame (T, D).
        mouth: absolute inner-lip distance (T,), IOD.
        pose: head pose (T, 3), degrees; frames, times: the rows' frame indices and seconds;
        seg: face segment per row (-1: no face).
        fps, mode, config, baseline_s: as :class:`EvidenceCollector`.
        speech: speech probability of the audio at each row (T,), when the video has sound.
    Returns (intensity (T, 2 * n_aus), talking (T,), spotting signal (T,), events).
    """
    intensity = np.full((len(frames), 2 * len(INTENSITY_AUS)), np.nan, np.float32)
    talking = np.zeros(len(frames), bool)
    signal = np.full(len(frames), np.nan)
    events = []
    for s in np.unique(seg[seg >= 0]):
        idx = np.flatnonzero(seg == s)
        ys = y[idx]
        sigma = noise_levels()
        turn = np.nan_to_num(pose[idx, :2])  # yaw, pitch: the 2-D alignment takes out roll, not these
        if mode == "long":
            ys = ys - long_reference(ys, fps, expression_energy, baseline_s)
            ys[:, len(MEASURES):] = transient(ys[:, len(MEASURES):], fps)
            sigma = noise_levels(flow=LONG_FLOW_NOISE, mouth_flow=LONG_MOUTH_FLOW_NOISE)
            turn = transient(turn, fps)
        else:
            turn = turn - turn[0]
        intensity[idx] = fused_intensity(ys, sigma, np.abs(turn).max(axis=1) <= FLOW_MAX_TURN_DEG)
        talking[idx] = talking_mask(mouth[idx], fps, speech=None if speech is None else speech[idx])
        signals = au_signals(intensity[idx], fps, pose[idx], talking[idx], config)
        signal[idx] = signals.max(axis=1)
        unread = fast_head(pose[idx], fps, config.max_head_speed_dps)
        for a, apex, b in spot_intervals(signals, ys / sigma, fps, config, talking[idx], unread):
            i0, i1 = idx[a], idx[b]
            in_talk = talked_through(talking, i0, i1)
            aus = active_aus(read_interval(intensity, i0, i1), config, talking=in_talk)
            if aus:  # motion that no AU explains is not an expression
                events.append(make_event(frames, times, i0, idx[apex], i1, signal[idx[apex]], aus, in_talk))
    return intensity, talking, signal, sorted(events, key=lambda e: e.onset)


def resolve_mode(mode: str, n_frames: int, fps: float) -> str:
    """``"clip"`` or ``"long"`` for a requested mode (``"auto"``: clip up to :data:`CLIP_MAX_S` seconds)."""
    from faceqa.errors import InvalidInputError

    if mode not in ("clip", "long", "auto"):
        raise InvalidInputError(f"mode must be 'clip', 'long' or 'auto', got {mode!r}")
    if mode == "auto":
        return "clip" if n_frames / fps <= CLIP_MAX_S else "long"
    return mode


def extract_evidence(source, fps: float | None = None, start: int | None = None, end: int | None = None,
                     mode: str = "auto", face_id: int | None = None, pipeline=None, flow: str = "farneback",
                     baseline_s: float = 12.0, config: SpotConfig = DEFAULT_CONFIG,
                     progress: bool = False, keep_faces: bool = False) -> Evidence:
    """Run perception and evidence over a source and spot events.

    Args:
        source: media path, array, or an opened :class:`~faceqa.media.Media`.
        fps, start, end: as :func:`~faceqa.media.open_media` (frame range = onset..offset).
        mode: ``"clip"``, ``"long"`` or ``"auto"`` (see the module docstring).
        face_id: follow this track; default: the largest face, kept while it stays tracked.
        pipeline: a :class:`~faceqa.perception.FacePipeline` to reuse (models load once).
        flow: optical-flow method (see :data:`~faceqa.evidence.motion.FLOW_METHODS`).
        baseline_s: window of the ``long`` mode's rolling rest reference (seconds).
        config: spotting and AU read-out thresholds.
        progress: show a progress bar.
        keep_faces: keep every aligned face crop (128x128 gray, 16 KB a frame) in ``Evidence.faces``,
            for a vision encoder; memory then grows with the clip, so use it for short clips.
    """
    from faceqa.perception import FacePipeline

    media = source if isinstance(source, Media) else open_media(source, fps=fps, start=start, end=end)
    mode = resolve_mode(mode, len(media), media.info.fps)
    pipe = pipeline or FacePipeline(emotion=None, quality=False)
    collector = EvidenceCollector(media.info.fps, mode, face_id, flow, baseline_s, config, keep_faces)
    times = []
    for frame, records in pipe.stream(media, progress=progress):
        collector.add(frame, records)
        times.append(frame.time_s)
    return collector.finish(media.info, speech_for(media.info, np.asarray(times)))


def speech_for(info: MediaInfo, times_s: np.ndarray) -> np.ndarray | None:
    """The speech probability of a video's audio at ``times_s``, or None (no sound, a still, a frame folder)."""
    from faceqa.errors import FaceQAError

    if info.kind != "video" or not len(times_s):
        return None
    from faceqa.media.audio import read_audio
    from faceqa.perception.voice import speech_at

    try:
        return speech_at(times_s, read_audio(info.path))
    except FaceQAError:  # no or unreadable audio, or the model is missing: the mouth alone decides
        return None


def _smooth(x: np.ndarray, seg: np.ndarray, fps: float, window_s: float = 0.07) -> np.ndarray:
    """Centred moving average over ``window_s`` within each segment (takes out mesh jitter)."""
    from scipy.ndimage import uniform_filter1d

    width = max(1, int(round(window_s * fps))) | 1
    out = x.copy()
    if width == 1:
        return out
    for s in np.unique(seg[seg >= 0]):
        idx = np.flatnonzero(seg == s)
        out[idx] = uniform_filter1d(x[idx], width, axis=0, mode="nearest")
    return out
