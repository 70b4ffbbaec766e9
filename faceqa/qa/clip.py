"""One pass per clip: open the media once, run one perception stream, feed every consumer, keep the result.

:func:`analyze_clip` decodes the frames once, tracks the faces once (detection, mesh, pose) and
hands each frame to every consumer:

- the evidence pass (:class:`~faceqa.evidence.extract.EvidenceCollector`), on every frame read
  (only when every frame is read, ``every=1``: micro-expressions need them all);
- per-track counts, timing, size, pose and expression (:class:`~faceqa.perception.pipeline.TrackSummary`);
- frame and clip quality (:class:`~faceqa.quality.assess.QualityCollector`);
- each track's best frame for identification (:class:`~faceqa.gallery.recognize.BestFrames`).

Expression scores, quality and best frames are taken on at most :data:`SAMPLES_PER_SECOND` frames
per second of the clip: frame positions 0, s, 2s, ... of the stream, with s the stream's rate over
that figure (every frame when ``every`` already thins the stream that far, and for stills).

The result, a :class:`ClipAnalysis`, is cached (:data:`CLIP_CACHE`, the last :data:`CACHE_SIZE`
clips) under the file (its resolved path, modification time and size; for a frame folder the newest
modification time of the folder and its files), the frame range, frame rate, stride, evidence mode
and tracker settings. So a follow-up question in a chat, or another tool call about the same clip,
costs no second pass. Arrays are not cached.
"""

from __future__ import annotations

import os
import threading
from collections import OrderedDict
from collections.abc import Hashable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from faceqa.errors import InvalidInputError
from faceqa.evidence.extract import Evidence, EvidenceCollector, resolve_mode
from faceqa.facs.deduction import DeductionModel
from faceqa.gallery.recognize import BestFrame, BestFrames, identify_tracks
from faceqa.media import Media, MediaInfo, open_media
from faceqa.perception.expression import EmotionClassifier
from faceqa.perception.pipeline import FacePipeline, TrackSummary
from faceqa.qa.facts import Facts, facts_from_evidence
from faceqa.quality.assess import QualityCollector

SAMPLES_PER_SECOND = 5.0
"""Most frames per second of the clip that expression, quality and identification look at."""

CACHE_SIZE = 4
"""Clip analyses kept in :data:`CLIP_CACHE` (least recently used dropped first)."""

MediaSource = str | os.PathLike | np.ndarray


@dataclass
class ClipAnalysis:
    """What one pass over a clip found (see the module docstring).

    Attributes:
        info: the source; ``span``: first and last frame index read.
        frames: frames read; ``sampled``: frames scored for expression, quality and identity.
        evidence: the evidence pass (None when the stream skipped frames, ``every`` > 1).
        faces: :meth:`~faceqa.perception.pipeline.TrackSummary.summary` (tracks, counts, pose, expression).
        quality: :func:`~faceqa.quality.assess_quality`'s result over the sampled frames.
        best: each track's best frame (a face crop), for :meth:`identify`.
    """

    info: MediaInfo
    span: tuple[int, int]
    frames: int
    sampled: int
    evidence: Evidence | None
    faces: dict
    quality: dict
    best: dict[int, BestFrame] = field(repr=False)

    @property
    def emotion_scores(self) -> dict[str, float] | None:
        """The expression classifier's mean scores for the main face (the longest track, then the
        largest), or None when no face was seen."""
        tracks = self.faces["faces"]
        if not tracks:
            return None
        return max(tracks, key=lambda t: (t["frames"], t["mean_size_px"])).get("expression_scores")

    def identify(self, gallery=None, top_k: int = 5, threshold: float | None = None) -> dict:
        """Each track's best face identified against ``gallery`` (a :class:`~faceqa.gallery.Gallery` or
        URI): the dict of :func:`~faceqa.gallery.recognize.identify_media`; NoFaceError without a face."""
        return identify_tracks(self.best, self.info, self.sampled, gallery, top_k, threshold)

    def facts(self, onset: int | None = None, offset: int | None = None, *, clip: str | None = None,
              convention: str | None = None, model: DeductionModel | None = None) -> Facts:
        """The facts of the interval [onset, offset]: :func:`~faceqa.qa.facts.facts_from_evidence` plus the
        clip's faces, expression scores and quality, whatever question is asked."""
        if self.evidence is None:
            raise InvalidInputError("facts need the evidence pass: analyse the clip with every=1")
        facts = facts_from_evidence(self.evidence, onset, offset, clip=clip, convention=convention, model=model)
        facts.faces, facts.emotion_scores, facts.quality = self.faces, self.emotion_scores, self.quality
        return facts


class ClipCache:
    """The last ``size`` clip analyses by key, least recently used dropped first; safe across threads."""

    def __init__(self, size: int = CACHE_SIZE):
        self.size = size
        self._items: OrderedDict[Hashable, ClipAnalysis] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: Hashable) -> ClipAnalysis | None:
        """The analysis stored under ``key``, or None."""
        with self._lock:
            if key not in self._items:
                return None
            self._items.move_to_end(key)
            return self._items[key]

    def put(self, key: Hashable, analysis: ClipAnalysis) -> None:
        """Store ``analysis`` under ``key``."""
        with self._lock:
            self._items[key] = analysis
            self._items.move_to_end(key)
            while len(self._items) > self.size:
                self._items.popitem(last=False)

    def clear(self) -> None:
        """Forget every analysis."""
        with self._lock:
            self._items.clear()

    def __len__(self) -> int:
        return len(self._items)


CLIP_CACHE = ClipCache()
"""The process-wide cache :func:`analyze_clip` uses by default."""


def _file_state(path: Path) -> tuple[int, int]:
    """(modification time in ns, size) of a file; for a folder, its newest time over itself and its entries."""
    st = path.stat()
    if not path.is_dir():
        return st.st_mtime_ns, st.st_size
    with os.scandir(path) as entries:
        newest = max((e.stat().st_mtime_ns for e in entries), default=0)
    return max(st.st_mtime_ns, newest), 0


def clip_key(source: MediaSource, media: Media, every: int, mode: str, settings: tuple) -> tuple | None:
    """The cache key of a pass over ``media`` opened from ``source`` (None for arrays)."""
    if isinstance(source, np.ndarray):
        return None
    path = Path(source).resolve()
    return (str(path), *_file_state(path), media.info.fps, media.span, every, mode, settings)


def sample_step(info: MediaInfo, every: int) -> int:
    """Stream positions between two sampled frames (see the module docstring)."""
    if info.kind in ("image", "array"):
        return 1
    return max(1, round(info.fps / every / SAMPLES_PER_SECOND))


def default_pipeline() -> FacePipeline:
    """The tracker :func:`analyze_clip` uses when given none: up to 10 faces, no per-frame expression or
    quality (build it once and pass it to analyse many clips without reloading its models)."""
    return FacePipeline(max_faces=10, emotion=None, quality=False)


def analyze_clip(source: MediaSource, fps: float | None = None, start: int | None = None, end: int | None = None,
                 every: int = 1, mode: str = "auto", pipeline: FacePipeline | None = None, expression: str = "fer",
                 progress: bool = False, cache: ClipCache | None = CLIP_CACHE) -> ClipAnalysis:
    """One pass over an image, video or frame folder feeding every consumer (see the module docstring).

    Args:
        source: media path or RGB array.
        fps, start, end, every: as :func:`~faceqa.media.open_media` (``start``/``end``: onset/offset frames).
        mode: evidence mode, ``"auto"``, ``"clip"`` or ``"long"`` (see :mod:`faceqa.evidence.extract`).
        pipeline: the tracker (default: up to 10 faces, no per-frame expression or quality).
        expression: expression classifier for the sampled frames (``"fer"`` or ``"facex"``).
        progress: a progress bar over the frames.
        cache: where passes are kept (None: run afresh and keep nothing).
    """
    media = open_media(source, fps=fps, start=start, end=end, every=every)
    resolved = resolve_mode(mode, len(media), media.info.fps)
    pipe = pipeline or default_pipeline()
    key = clip_key(source, media, every, resolved, (*pipe.settings, expression)) if cache is not None else None
    found = cache.get(key) if key is not None else None
    if found is not None:
        return found
    analysis = _run(media, every, resolved, pipe, expression, progress)
    if key is not None:
        cache.put(key, analysis)
    return analysis


def _run(media: Media, every: int, mode: str, pipe: FacePipeline, expression: str, progress: bool) -> ClipAnalysis:
    """The pass itself: one stream, every consumer."""
    info = media.info
    evidence = EvidenceCollector(info.fps, mode, keep_faces=mode == "clip") if every == 1 else None
    tracks, quality, best = TrackSummary(), QualityCollector(), BestFrames()
    classifier = EmotionClassifier(expression)
    step = sample_step(info, every)
    n = 0
    for frame, records in pipe.stream(media, progress=progress and len(media) > 1):
        if n % step == 0:
            for r, scores in zip(records, classifier.predict_batch(frame.image, [r.bbox for r in records]),
                                 strict=True):
                r.emotion = scores
            quality.add(frame, records)
            best.add(frame, records)
        tracks.add(records)
        if evidence is not None:
            evidence.add(frame, records)
        n += 1
    return ClipAnalysis(info, media.span, n, len(quality.frames), evidence.finish(info) if evidence else None,
                        tracks.summary(info, n), quality.result(info), best.tracks)
