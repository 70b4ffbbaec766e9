"""Hesitancy cues of a talking-face video (``faceqa hesitancy``), as in ABAW's ambivalence/hesitancy
task (BAH corpus): what the face shows, how the voice goes, what the words say, and where these
disagree.

- ``face``: expression probabilities (mini-Xception, 7 classes) and AU intensities (FACS 0-5,
  :mod:`faceqa.evidence`) of the main face in frames sampled at about 6 a second, pooled over the
  clip: mean, std, 10th/50th/90th percentile of each; ``face_frames`` (share of frames with a face).
- ``speech``: :meth:`faceqa.speech.SpeechEvidence.summary`'s figures (rate, pauses, filled pauses,
  pitch and energy statistics).
- ``text``: VADER sentiment of the transcript (compound, positive, negative, neutral) and hedges per
  100 words (maybe, not sure, I guess, kind of, ...).
- ``conflict``: face valence (happy minus angry, disgust, fear and sad, mean) against text valence
  (VADER compound): their absolute difference and whether their signs disagree; mixed face (mean of
  min(positive, negative) per frame), mixed words (min(VADER positive, negative)), and a smile with a
  frown (mean of min(AU12, AU4)).

Every figure is a float (None where its modality is missing: no face, no audio, no words).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field

import numpy as np

HEDGES = ("maybe", "perhaps", "probably", "possibly", "not sure", "i guess", "i think", "i suppose", "kind of",
          "sort of", "i don't know", "i mean", "somewhat", "might", "could be", "but", "though", "however")
"""Hedging words and phrases counted in the transcript."""
_STATS = (("mean", np.mean), ("std", np.std), ("q10", lambda x: np.percentile(x, 10)),
          ("q50", lambda x: np.percentile(x, 50)), ("q90", lambda x: np.percentile(x, 90)))
MODALITIES = ("face", "speech", "text", "conflict")


@dataclass
class HesitancyCues:
    """The cues per modality (``None``: the modality is missing) and how long each part took."""

    path: str
    duration_s: float
    face: dict | None
    speech: dict | None
    text: dict | None
    conflict: dict | None
    transcript: str = ""
    timing_s: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        """JSON-ready."""
        return {"path": self.path, "duration_s": self.duration_s, "transcript": self.transcript,
                **{m: getattr(self, m) for m in MODALITIES}, "timing_s": self.timing_s}

    def vectors(self) -> dict[str, np.ndarray | None]:
        """Per modality, its numeric figures as a float32 vector in sorted key order (None: missing)."""
        out: dict[str, np.ndarray | None] = {}
        for m in MODALITIES:
            d = getattr(self, m)
            out[m] = None if d is None else np.array(
                [np.nan_to_num(float(d[k])) if d[k] is not None else 0.0 for k in sorted(d)
                 if isinstance(d[k], (int, float)) or d[k] is None], np.float32)
        return out


def pool(table, prefix: str) -> dict[str, float]:
    """mean/std/q10/q50/q90 of every ``prefix*`` column over the rows with a value."""
    out = {}
    for col in [c for c in table.columns if c.startswith(prefix)]:
        x = table[col].to_numpy(np.float64)
        x = x[np.isfinite(x)]
        for name, fn in _STATS:
            out[f"{col}_{name}"] = round(float(fn(x)), 5) if len(x) else 0.0
    return out


def text_cues(transcript: str) -> dict | None:
    """VADER sentiment and hedges per 100 words of ``transcript`` (None when there are no words)."""
    words = transcript.split()
    if not words:
        return None
    try:
        from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer
    except ImportError:
        from faceqa.errors import ModelUnavailableError

        raise ModelUnavailableError("transcript sentiment needs vaderSentiment: run `pip install vaderSentiment==3.3.2`"
                                    ) from None
    s = SentimentIntensityAnalyzer().polarity_scores(transcript)
    low = " " + " ".join(words).lower() + " "
    hedges = sum(len(re.findall(rf"(?<=\s){re.escape(h)}(?=\s)", low)) for h in HEDGES)
    return {"vader_compound": s["compound"], "vader_pos": s["pos"], "vader_neg": s["neg"], "vader_neu": s["neu"],
            "hedges_per_100_words": round(100.0 * hedges / len(words), 3), "words": len(words)}


def face_frames(video: str | os.PathLike, sample_fps: float = 6.0):
    """One pass over ``video`` at about ``sample_fps`` frames a second (pooled statistics need no more):
    the per-frame table of the main face's ``emotion_*`` probabilities and ``au_*`` intensities (rows:
    sampled frames; NaN where no face)."""
    import pandas as pd

    from faceqa.evidence.extract import EvidenceCollector, resolve_mode
    from faceqa.media import open_media
    from faceqa.perception import FacePipeline
    from faceqa.perception.records import EMOTIONS

    native = open_media(video).info
    every = max(1, int(round(native.fps / sample_fps)))
    media = open_media(video, every=every)
    info = media.info
    fps = native.fps / every
    collector = EvidenceCollector(fps, resolve_mode("auto", len(media), fps))
    pipe = FacePipeline(max_faces=3, emotion="fer", quality=False)
    emotions = []
    for frame, records in pipe.stream(media):
        collector.add(frame, records)
        main = max(records, key=lambda r: (r.bbox[2] - r.bbox[0]) * (r.bbox[3] - r.bbox[1]), default=None)
        emotions.append([main.emotion.get(e, np.nan) if main is not None and main.emotion else np.nan
                         for e in EMOTIONS])
    evidence = collector.finish(info)
    table = evidence.table[[c for c in evidence.table.columns if c.startswith("au_")]].reset_index(drop=True)
    emo = pd.DataFrame(emotions, columns=[f"emotion_{e}" for e in EMOTIONS])
    return pd.concat([emo, table], axis=1)


def conflict_cues(frames, text: dict | None) -> dict | None:
    """Disagreement between the face and the words, and mixed signals within each."""
    if frames is None or text is None:
        return None
    pos = frames["emotion_happy"].to_numpy(np.float64)
    neg = frames[["emotion_angry", "emotion_disgust", "emotion_fear", "emotion_sad"]].to_numpy(np.float64).sum(1)
    ok = np.isfinite(pos) & np.isfinite(neg)
    if not ok.any():
        return None
    face_valence = float(np.mean(pos[ok] - neg[ok]))
    au12 = [c for c in frames.columns if c.startswith("au_12_")]
    au4 = [c for c in frames.columns if c.startswith("au_4_")]
    smile_frown = 0.0
    if au12 and au4:
        a, b = frames[au12].max(axis=1).to_numpy(), frames[au4].max(axis=1).to_numpy()
        both = np.isfinite(a) & np.isfinite(b)
        smile_frown = float(np.mean(np.minimum(a[both], b[both]))) if both.any() else 0.0
    tv = float(text["vader_compound"])
    return {"face_valence": round(face_valence, 5), "text_valence": tv,
            "valence_gap": round(abs(face_valence - tv), 5),
            "valence_sign_conflict": float(np.sign(face_valence) * np.sign(tv) < 0),
            "face_mixed": round(float(np.mean(np.minimum(pos[ok], neg[ok]))), 5),
            "text_mixed": float(min(text["vader_pos"], text["vader_neg"])),
            "smile_with_frown": round(smile_frown, 5)}


def hesitancy_cues(video: str | os.PathLike) -> HesitancyCues:
    """Measure the hesitancy cues of ``video`` (a missing modality is None: no face, no audio, no words)."""
    import time

    from faceqa.errors import NoAudioError, NoFaceError
    from faceqa.media.audio import read_audio
    from faceqa.speech import speech_evidence

    timing = {}
    t = time.perf_counter()
    try:
        frames = face_frames(video)
        face = pool(frames, "emotion_") | pool(frames, "au_")
        face["face_frames"] = round(float(np.isfinite(frames["emotion_neutral"]).mean()), 4)
        if face["face_frames"] == 0:
            frames, face = None, None
    except NoFaceError:
        frames, face = None, None
    timing["face"] = round(time.perf_counter() - t, 2)
    t = time.perf_counter()
    try:
        audio = read_audio(video)
        ev = speech_evidence(audio)
        speech = {k: v for k, v in ev.summary().items() if k not in ("path", "transcript")}
        transcript, duration = ev.transcript, audio.duration_s
    except NoAudioError:
        speech, transcript, duration = None, "", float("nan")
    timing["speech"] = round(time.perf_counter() - t, 2)
    text = text_cues(transcript)
    return HesitancyCues(str(video), round(duration, 3), face, speech, text, conflict_cues(frames, text),
                         transcript, timing)
