"""Speech evidence of a clip: where the voice is, what is said and when, and how.

One pass over the audio track gives:

- **voice activity** spans (Silero VAD probability >= ``threshold`` for at least ``min_speech_s``,
  gaps under ``merge_gap_s`` joined);
- the **transcript** with word timings (PocketSphinx, :mod:`faceqa.speech.recognize`), decoded over
  the voice spans only (each widened by 0.3 s);
- **pauses**: silences of at least ``min_pause_s`` between two words or two voice spans;
- **filled pauses**: hesitation words (uh, um, ah, er, hmm, mm);
- **rate**: words per minute of voiced time and over the whole span from the first to the last word;
- **pitch and energy** statistics of the voiced frames (:mod:`faceqa.speech.prosody`).

:meth:`SpeechEvidence.table` is the per-word and per-span table (one row per voice span, word,
filled pause and pause) that loads in pandas; :meth:`SpeechEvidence.summary` the clip's figures.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

import numpy as np

from faceqa.media.audio import AudioTrack, read_audio
from faceqa.speech.prosody import Prosody, prosody
from faceqa.speech.recognize import SphinxConfig, Word, recognize, transcript

TABLE_COLUMNS = ["kind", "start_s", "end_s", "duration_s", "text", "prob", "f0_hz", "energy_db"]
"""Columns of :meth:`SpeechEvidence.table`: ``kind`` is ``voice`` (a VAD span), ``word``,
``filled_pause`` or ``pause``; ``text`` the word (empty otherwise); ``prob`` the word's posterior
or the span's mean speech probability; ``f0_hz`` (NaN where unvoiced) and ``energy_db`` the means over
the row's time."""


@dataclass(frozen=True)
class SpeechConfig:
    """Thresholds of the speech evidence."""

    threshold: float = 0.5
    min_speech_s: float = 0.1
    merge_gap_s: float = 0.1
    min_pause_s: float = 0.25
    long_pause_s: float = 1.0


@dataclass
class SpeechEvidence:
    """What the audio track says about speech (times in seconds from the track's first sample)."""

    path: str
    duration_s: float
    voice: list[tuple[float, float, float]]
    words: list[Word]
    pauses: list[tuple[float, float]]
    prosody: Prosody = field(repr=False)
    config: SpeechConfig = field(default_factory=SpeechConfig)

    @property
    def transcript(self) -> str:
        """The words as one line."""
        return transcript(self.words)

    @property
    def filled_pauses(self) -> list[Word]:
        """The hesitation words."""
        return [w for w in self.words if w.filled_pause]

    def table(self):
        """One row per voice span, word, filled pause and pause, in time order (columns: TABLE_COLUMNS)."""
        import pandas as pd

        rows = []

        def add(kind: str, a: float, b: float, text: str, prob: float) -> None:
            f0, db = self.prosody.between(a, b)
            rows.append((kind, a, b, b - a, text, prob, f0, db))

        for a, b, p in self.voice:
            add("voice", a, b, "", p)
        for w in self.words:
            add("filled_pause" if w.filled_pause else "word", w.start_s, w.end_s, w.word, w.prob)
        for a, b in self.pauses:
            add("pause", a, b, "", float("nan"))
        df = pd.DataFrame(rows, columns=TABLE_COLUMNS)
        return df.sort_values(["start_s", "kind"], kind="stable").reset_index(drop=True)

    def summary(self) -> dict:
        """The clip's speech figures (JSON-ready)."""
        voiced_s = float(sum(b - a for a, b, _ in self.voice))
        lexical = [w for w in self.words if not w.filled_pause]
        span_s = (self.words[-1].end_s - self.words[0].start_s) if self.words else 0.0
        f0 = self.prosody.f0_hz[np.isfinite(self.prosody.f0_hz)]
        loud = self.prosody.energy_db[np.isfinite(self.prosody.f0_hz)]
        pause_len = [b - a for a, b in self.pauses]
        semitones = 12 * np.log2(f0 / np.median(f0)) if len(f0) else np.zeros(0)
        return {
            "path": self.path,
            "duration_s": round(self.duration_s, 3),
            "transcript": self.transcript,
            "speech_s": round(voiced_s, 3),
            "speech_ratio": round(voiced_s / self.duration_s, 4) if self.duration_s else 0.0,
            "voice_spans": len(self.voice),
            "words": len(lexical),
            "filled_pauses": len(self.filled_pauses),
            "filled_pauses_per_100_words": round(100 * len(self.filled_pauses) / max(1, len(lexical)), 2),
            "words_per_min_voiced": round(60 * len(lexical) / voiced_s, 1) if voiced_s else 0.0,
            "words_per_min": round(60 * len(lexical) / span_s, 1) if span_s else 0.0,
            "pauses": len(self.pauses),
            "long_pauses": sum(d >= self.config.long_pause_s for d in pause_len),
            "pause_mean_s": round(float(np.mean(pause_len)), 3) if pause_len else 0.0,
            "pause_ratio": round(sum(pause_len) / span_s, 4) if span_s else 0.0,
            "word_prob_mean": round(float(np.mean([w.prob for w in lexical])), 4) if lexical else 0.0,
            "f0_mean_hz": round(float(f0.mean()), 1) if len(f0) else None,
            "f0_std_semitones": round(float(semitones.std()), 3) if len(f0) else None,
            "f0_range_semitones": round(float(np.percentile(semitones, 95) - np.percentile(semitones, 5)), 3)
            if len(f0) else None,
            "energy_mean_db": round(float(loud.mean()), 2) if len(loud) else None,
            "energy_std_db": round(float(loud.std()), 2) if len(loud) else None,
        }


def voice_spans(audio: AudioTrack, config: SpeechConfig = SpeechConfig()) -> list[tuple[float, float, float]]:
    """(start_s, end_s, mean speech probability) of each voice-activity span."""
    from faceqa.evidence.talking import spans
    from faceqa.perception.voice import WINDOW, speech_probability

    _, p = speech_probability(audio)
    step = WINDOW / audio.rate
    mask = p >= config.threshold
    gap = int(round(config.merge_gap_s / step))
    for a, b in spans(~mask):  # fill short gaps between two voiced runs
        if a > 0 and b < len(mask) - 1 and b - a + 1 <= gap:
            mask[a:b + 1] = True
    return [(a * step, (b + 1) * step, float(p[a:b + 1].mean())) for a, b in spans(mask)
            if (b + 1 - a) * step >= config.min_speech_s]


def find_pauses(voice: list[tuple[float, float, float]], words: list[Word], min_pause_s: float
                ) -> list[tuple[float, float]]:
    """Silences of at least ``min_pause_s`` between consecutive words or consecutive voice spans
    (only between the first and the last speech: leading and trailing silence is not a pause)."""
    events = sorted([(w.start_s, w.end_s) for w in words] + [(a, b) for a, b, _ in voice])
    out: list[tuple[float, float]] = []
    end = None
    for a, b in events:
        if end is not None and a - end >= min_pause_s:
            out.append((end, a))
        end = b if end is None else max(end, b)
    return out


def speech_evidence(source: str | os.PathLike | AudioTrack, config: SpeechConfig = SpeechConfig(),
                    sphinx: SphinxConfig | None = None) -> SpeechEvidence:
    """Speech evidence of a video's (or an audio file's) sound track."""
    audio = source if isinstance(source, AudioTrack) else read_audio(source)
    voice = voice_spans(audio, config)
    words = recognize(audio, sphinx or SphinxConfig(), spans=[(a, b) for a, b, _ in voice])
    return SpeechEvidence(audio.path, audio.duration_s, voice, words,
                          find_pauses(voice, words, config.min_pause_s), prosody(audio), config)
