"""The evidence pass: perception stream -> aligned face -> regional motion -> AU activity -> events.

One streaming pass over the media follows one face (the largest, or ``face_id``); only a few
numbers per frame are kept, so memory stays flat for long videos. Region displacements
(``disp_*``) are measured from the first frame of each face segment and lightly smoothed. What
the AU activity columns (``au_*``) and the spotting signal are relative to depends on ``mode``:

- ``"clip"``: the first frame (the onset, for an MEGC clip);
- ``"long"``: a rolling median over ``baseline_s`` seconds, so slow drift and long-held states
  are taken out and only transient expressions remain (spotting in long videos).

``"auto"`` picks ``clip`` for sources up to 6 s and ``long`` beyond. Whatever the mode, the AUs of
an interval (an event, or a clip's onset..offset) are read as the change from the interval's first
frame: for each AU and side, the peak over the interval of the activity of ``disp(t) - disp(onset)``
(FACS codes an expression by what changes from its onset).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import cv2
import numpy as np

from faceqa.evidence.align import FaceAligner
from faceqa.evidence.au_activity import AU_MOTIONS, au_activity, au_columns
from faceqa.evidence.mesh_features import FEATURES, mesh_features
from faceqa.evidence.motion import RegionalMotion
from faceqa.evidence.regions import region_keys
from faceqa.evidence.spotting import (
    DEFAULT_CONFIG,
    ActiveAU,
    Event,
    SpotConfig,
    active_aus,
    events_dataframe,
    side_of,
    spot,
    spotting_signal,
)
from faceqa.media import Media, MediaInfo, open_media

CLIP_MAX_S = 6.0


def interval_activity(disp: np.ndarray, start: int, stop: int, saturate: bool = True) -> np.ndarray:
    """Per AU and side, the peak over rows [start, stop] of the activity of ``disp[t] - disp[start]``."""
    rel = np.nan_to_num(disp[start:stop + 1] - disp[start])
    return au_activity(rel, saturate=saturate).max(axis=0)


@dataclass
class Evidence:
    """Per-frame evidence for one face and the events spotted in it.

    ``table`` columns: ``frame``, ``time_s``, ``face_id``, ``segment`` (a new one each time the face
    is re-acquired; -1 where no face), ``pose_yaw/pitch/roll``, ``disp_{region}_{side}_x/_y``
    (IOD, from the segment's first frame), ``geom_*`` (mesh features minus the first frame's, IOD),
    ``au_{n}_{L|R}`` (activity 0..1, relative as ``mode`` says) and ``signal`` (spotting signal).
    """

    info: MediaInfo
    fps: float
    mode: str
    table: object  # pandas.DataFrame
    events: list[Event] = field(default_factory=list)
    faces: np.ndarray | None = None
    """Aligned gray faces (T, 128, 128) uint8, one per table row (zeros where no face), when
    ``keep_faces`` was asked (short clips: for a vision encoder); None otherwise."""

    def displacements(self) -> np.ndarray:
        """Region displacements (T, K, 2) from the segment start, in IOD."""
        cols = [f"disp_{n}_{s}_{a}" for n, s in region_keys() for a in ("x", "y")]
        return self.table[cols].to_numpy(np.float32).reshape(len(self.table), -1, 2)

    def activity(self) -> np.ndarray:
        """AU activity array (T, 2 * n_aus) in :func:`~faceqa.evidence.au_activity.au_columns` order."""
        return self.table[au_columns()].to_numpy(np.float32)

    def events_dataframe(self):
        """Spotted events as a DataFrame."""
        return events_dataframe(self.events)

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

    def interval_activity(self, onset: int | None = None, offset: int | None = None,
                          saturate: bool = True) -> np.ndarray:
        """Peak activity (2 * n_aus,) of the change from ``onset`` within [onset, offset] (frames)."""
        span = self.span(onset, offset)
        if span is None:
            return np.zeros(2 * len(AU_MOTIONS), np.float32)
        return interval_activity(self.displacements(), *span, saturate=saturate)

    def au_summary(self, onset: int | None = None, offset: int | None = None,
                   config: SpotConfig = DEFAULT_CONFIG):
        """Peak activity per AU and side within [onset, offset] (all frames by default).

        Columns: ``au``, ``name``, ``L``, ``R``, ``peak`` (activities, 0..1), ``strength`` (uncapped, in
        multiples of full intensity), ``side`` (L/R/both), ``active`` (see
        :func:`~faceqa.evidence.spotting.active_aus`); sorted by strength.
        """
        import pandas as pd

        from faceqa.evidence.facs import au_by_number

        strength = self.interval_activity(onset, offset, saturate=False)
        active = {a.au for a in active_aus(strength, config, include_distractors=True)}
        out = []
        for j, m in enumerate(AU_MOTIONS):
            left, right = float(strength[2 * j]), float(strength[2 * j + 1])
            out.append({"au": m.au, "name": au_by_number(m.au).name, "L": round(min(left, 1.0), 4),
                        "R": round(min(right, 1.0), 4), "peak": round(min(max(left, right), 1.0), 4),
                        "strength": round(max(left, right), 4), "side": side_of(left, right, config.bilateral_ratio),
                        "active": m.au in active})
        return pd.DataFrame(out).sort_values("strength", ascending=False, kind="stable", ignore_index=True)

    def active_aus(self, onset: int | None = None, offset: int | None = None,
                   config: SpotConfig = DEFAULT_CONFIG) -> list[ActiveAU]:
        """AUs active within [onset, offset] (change from onset), strongest first, with sides."""
        return active_aus(self.interval_activity(onset, offset, saturate=False), config)


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
        self.last_face: np.ndarray | None = None

    def start_segment(self) -> None:
        """Begin a new reference (a new face, or the face found again after being lost)."""
        self.segment += 1
        self._aligner = FaceAligner(self.size)
        self._motion = RegionalMotion(self.fps, self.size, self._aligner.iod, self.flow)
        self._geom0 = None

    def update(self, image: np.ndarray, landmarks: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(region displacements (K, 2), mesh-feature deltas (F,)) for one frame of the followed face."""
        gray = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY)
        face, lm = self._aligner.align(gray, landmarks)
        self.last_face = face
        disp = self._motion.update(face, lm)
        geom = mesh_features(lm, self._aligner.iod)
        if self._geom0 is None:
            self._geom0 = geom
        return disp, geom - self._geom0


def _pick(records: list, face_id: int | None):
    if not records:
        return None
    if face_id is not None:
        return next((r for r in records if r.face_id == face_id), None)
    return max(records, key=lambda r: r.size_px)


class EvidenceCollector:
    """The evidence pass as a consumer of a perception stream: ``add`` each frame, then ``finish``.

    This lets one decoding pass feed several consumers (evidence, expression, identity, quality);
    :func:`extract_evidence` is the loop for when evidence is all that is wanted.

    Args:
        fps: the source's frame rate.
        mode: ``"clip"`` or ``"long"`` (resolve ``"auto"`` with :func:`resolve_mode` first).
        face_id, flow, baseline_s, config, keep_faces: as :func:`extract_evidence`.
    """

    def __init__(self, fps: float, mode: str = "clip", face_id: int | None = None, flow: str = "farneback",
                 baseline_s: float = 4.0, config: SpotConfig = DEFAULT_CONFIG, keep_faces: bool = False):
        from faceqa.errors import InvalidInputError

        if mode not in ("clip", "long"):
            raise InvalidInputError(f"mode must be 'clip' or 'long' here, got {mode!r}")
        self.fps, self.mode, self.face_id = fps, mode, face_id
        self.baseline_s, self.config, self.keep_faces = baseline_s, config, keep_faces
        self._ext = EvidenceExtractor(fps, flow=flow)
        self._follow = face_id
        self._blank = np.zeros((self._ext.size, self._ext.size), np.uint8)
        self._rows: dict[str, list] = {k: [] for k in ("frame", "time", "fid", "seg", "pose", "disp", "geom")}
        self._faces: list[np.ndarray] = []

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
            if self.keep_faces:
                self._faces.append(self._blank)
            self._follow = self.face_id
            return
        ext = self._ext
        if rec.face_id != self._follow or ext.segment < 0 or rows["seg"][-1] == -1:  # new face, or found again
            ext.start_segment()
            self._follow = rec.face_id
        d, g = ext.update(frame.image, rec.landmarks)
        if self.keep_faces:
            self._faces.append(ext.last_face)
        rows["fid"].append(rec.face_id)
        rows["seg"].append(ext.segment)
        rows["pose"].append(rec.pose)
        rows["disp"].append(d)
        rows["geom"].append(g)

    def finish(self, info: MediaInfo) -> Evidence:
        """The :class:`Evidence` of every frame added so far (``info`` describes the source)."""
        import pandas as pd

        from faceqa.errors import InvalidInputError

        rows, fps, config = self._rows, self.fps, self.config
        if not rows["frame"]:
            raise InvalidInputError(f"{info.path or 'media'}: no frames were read")
        frames = np.asarray(rows["frame"])
        times = np.asarray(rows["time"])
        seg = np.asarray(rows["seg"])
        disp = _smooth(np.stack(rows["disp"]), seg, fps)
        geom = np.stack(rows["geom"])
        rel = disp
        if self.mode == "long":
            rel = _remove_baseline(disp.reshape(len(disp), -1), seg, fps, self.baseline_s).reshape(disp.shape)
        act = au_activity(np.nan_to_num(rel))
        act[seg < 0] = np.nan
        pose = np.asarray(rows["pose"], np.float64)
        table = pd.DataFrame({"frame": frames, "time_s": times, "face_id": rows["fid"], "segment": seg,
                              "pose_yaw": pose[:, 0], "pose_pitch": pose[:, 1], "pose_roll": pose[:, 2]})
        cols = {}
        for i, (name, side) in enumerate(region_keys()):
            cols[f"disp_{name}_{side}_x"] = disp[:, i, 0]
            cols[f"disp_{name}_{side}_y"] = disp[:, i, 1]
        cols |= {f"geom_{n}": geom[:, i] for i, n in enumerate(FEATURES)}
        cols |= {c: act[:, i] for i, c in enumerate(au_columns())}
        signal = np.full(len(act), np.nan)
        events = []
        for s in np.unique(seg[seg >= 0]):
            idx = np.flatnonzero(seg == s)
            signal[idx] = spotting_signal(act[idx], fps, pose[idx], config)
            for ev in spot(act[idx], frames[idx], times[idx], fps, pose[idx], config):
                i0 = idx[0] + int(np.searchsorted(frames[idx], ev.onset))
                i1 = idx[0] + int(np.searchsorted(frames[idx], ev.offset))
                ev.aus = active_aus(interval_activity(disp, i0, i1, saturate=False), config)
                if ev.aus:  # motion that moves no AU region in an AU's direction is not an expression
                    events.append(ev)
        cols["signal"] = signal
        table = pd.concat([table, pd.DataFrame(cols)], axis=1)
        return Evidence(info, fps, self.mode, table, sorted(events, key=lambda e: e.onset),
                        np.stack(self._faces) if self.keep_faces else None)


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
                     baseline_s: float = 4.0, config: SpotConfig = DEFAULT_CONFIG,
                     progress: bool = False, keep_faces: bool = False) -> Evidence:
    """Run perception and evidence over a source and spot events.

    Args:
        source: media path, array, or an opened :class:`~faceqa.media.Media`.
        fps, start, end: as :func:`~faceqa.media.open_media` (frame range = onset..offset).
        mode: ``"clip"``, ``"long"`` or ``"auto"`` (see the module docstring).
        face_id: follow this track; default: the largest face, kept while it stays tracked.
        pipeline: a :class:`~faceqa.perception.FacePipeline` to reuse (models load once).
        flow: optical-flow method (see :data:`~faceqa.evidence.motion.FLOW_METHODS`).
        baseline_s: rolling-median window of the ``long`` mode.
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
    for frame, records in pipe.stream(media, progress=progress):
        collector.add(frame, records)
    return collector.finish(media.info)


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


def _remove_baseline(x: np.ndarray, seg: np.ndarray, fps: float, window_s: float) -> np.ndarray:
    """Subtract a centred rolling median (computed at ~10 Hz, interpolated back) per segment."""
    import pandas as pd

    out = np.full_like(x, np.nan)
    step = max(1, int(round(fps / 10)))
    win = max(3, int(round(window_s * fps / step)) | 1)
    for s in np.unique(seg[seg >= 0]):
        idx = np.flatnonzero(seg == s)
        coarse = x[idx[::step]]
        base = pd.DataFrame(coarse).rolling(win, center=True, min_periods=1).median().to_numpy()
        pos = np.arange(len(idx))
        full = np.stack([np.interp(pos, pos[::step], base[:, c]) for c in range(x.shape[1])], axis=1)
        out[idx] = x[idx] - full
    return out
