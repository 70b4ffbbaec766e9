"""Speech recognition with word and phone timings (CMU PocketSphinx, from the ``pocketsphinx`` wheel).

The wheel carries a US-English acoustic model, a trigram language model and the CMU pronouncing
dictionary; :class:`SphinxConfig` points at other files (another language's model, a domain
language model). Recognition runs on the whole utterance at once (batch cepstral normalisation);
the default search is narrowed (``fast``) so a clip decodes faster than real time on one core.
Phones come from PocketSphinx's phone-loop search (``allphone``), which needs no transcript.
Times are seconds from the start of the audio track (frames of 10 ms).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

import numpy as np

from faceqa.media.audio import SPEECH_RATE, AudioTrack

FRAME_S = 0.01
"""PocketSphinx's frame step (10 ms)."""
FILLED_PAUSES = frozenset({"uh", "um", "ah", "er", "hmm", "mm", "uhm", "erm"})
"""Dictionary words counted as filled pauses (hesitation sounds)."""
_FAST = {"fwdflat": False, "beam": 1e-40, "wbeam": 1e-20, "pbeam": 1e-40, "maxhmmpf": 3000, "topn": 2}


@dataclass(frozen=True)
class SphinxConfig:
    """Model files (None: the wheel's US-English ones) and the search width."""

    hmm: str | None = None
    lm: str | None = None
    dictionary: str | None = None
    fast: bool = True
    extra: dict = field(default_factory=dict)

    def decoder_kwargs(self) -> dict:
        """Keyword arguments for ``pocketsphinx.Decoder``."""
        kw: dict = {"samprate": SPEECH_RATE, "loglevel": "FATAL"}
        kw.update({k: v for k, v in (("hmm", self.hmm), ("lm", self.lm), ("dict", self.dictionary)) if v})
        if self.fast:
            kw.update(_FAST)
        kw.update(self.extra)
        return kw


@dataclass(frozen=True)
class Word:
    """A recognised word (``<sil>`` and noise tokens are left out) with its timing and posterior."""

    word: str
    start_s: float
    end_s: float
    prob: float

    @property
    def filled_pause(self) -> bool:
        """True for a hesitation sound (uh, um, ...)."""
        return self.word in FILLED_PAUSES


@dataclass(frozen=True)
class Phone:
    """A recognised phone (CMU ARPAbet, ``SIL`` for silence) with its timing."""

    phone: str
    start_s: float
    end_s: float


_DECODERS: dict[tuple, object] = {}
_LOCK = threading.Lock()


def _decoder(kw: dict):
    try:
        from pocketsphinx import Decoder
    except ImportError:
        from faceqa.errors import ModelUnavailableError

        raise ModelUnavailableError("speech recognition needs pocketsphinx: run `pip install pocketsphinx==5.1.1`"
                                    ) from None
    key = tuple(sorted((k, str(v)) for k, v in kw.items()))
    if key not in _DECODERS:
        _DECODERS[key] = Decoder(**kw)
    return _DECODERS[key]


def _pcm(audio: AudioTrack) -> bytes:
    from faceqa.errors import InvalidInputError

    if audio.rate != SPEECH_RATE:
        raise InvalidInputError(f"{audio.path}: speech recognition needs {SPEECH_RATE} Hz audio, got {audio.rate}")
    return (np.clip(audio.samples, -1.0, 1.0) * 32767).astype("<i2").tobytes()


def _decode(kw: dict, pcm: bytes) -> list:
    with _LOCK:  # a decoder is not thread-safe; decoders are shared per configuration
        dec = _decoder(kw)
        dec.start_utt()
        dec.process_raw(pcm, full_utt=True)
        dec.end_utt()
        return [(s.word, s.start_frame, s.end_frame, s.prob) for s in (dec.seg() or [])]


def recognize(audio: AudioTrack, config: SphinxConfig = SphinxConfig(),
              spans: list[tuple[float, float]] | None = None, pad_s: float = 0.3) -> list[Word]:
    """The words spoken in ``audio`` with their start/end times (s) and posterior probabilities.

    ``spans`` (seconds, e.g. the voice-activity spans) limits decoding to those stretches, each
    widened by ``pad_s`` and merged where they touch: silence is not decoded, which saves most of the
    time on clips with little speech. Times stay relative to the track's first sample.
    """
    pcm = _pcm(audio)
    if spans is None:
        chunks = [(0, len(pcm) // 2)]
    else:
        chunks = []
        for a, b in sorted(spans):
            lo = max(0, int((a - pad_s) * audio.rate))
            hi = min(len(pcm) // 2, int((b + pad_s) * audio.rate))
            if chunks and lo <= chunks[-1][1]:
                chunks[-1] = (chunks[-1][0], max(chunks[-1][1], hi))
            elif hi > lo:
                chunks.append((lo, hi))
    words = []
    kw = config.decoder_kwargs()
    for lo, hi in chunks:
        t0 = lo / audio.rate
        for token, start, end, prob in _decode(kw, pcm[2 * lo:2 * hi]):
            if token.startswith(("<", "[", "+")):
                continue
            words.append(Word(token.split("(")[0], t0 + start * FRAME_S, t0 + (end + 1) * FRAME_S,
                              float(min(1.0, prob))))
    return words


def recognize_phones(audio: AudioTrack, config: SphinxConfig = SphinxConfig()) -> list[Phone]:
    """The phones in ``audio`` from PocketSphinx's phone-loop search (no transcript needed)."""
    from pocketsphinx import get_model_path

    kw = config.decoder_kwargs()
    kw.pop("lm", None)
    kw.update(allphone=get_model_path("en-us/en-us-phone.lm.bin"), lw=2.0, bestpath=False)
    return [Phone(token, start * FRAME_S, (end + 1) * FRAME_S)
            for token, start, end, _ in _decode(kw, _pcm(audio))]


def transcript(words: list[Word]) -> str:
    """The words as one line of text."""
    return " ".join(w.word for w in words)


def word_error_rate(reference: str, hypothesis: str) -> float:
    """Word error rate: (substitutions + deletions + insertions) / reference words (Levenshtein on words,
    lower-cased, punctuation other than apostrophes dropped)."""
    import re

    def norm(s: str) -> list[str]:
        return re.sub(r"[^a-z0-9' ]+", " ", s.lower()).split()

    ref, hyp = norm(reference), norm(hypothesis)
    if not ref:
        return float(len(hyp) > 0)
    d = np.arange(len(hyp) + 1)
    for i, r in enumerate(ref, 1):
        prev, d = d, np.empty_like(d)
        d[0] = i
        for j, h in enumerate(hyp, 1):
            d[j] = min(prev[j] + 1, d[j - 1] + 1, prev[j - 1] + (r != h))
    return float(d[-1]) / len(ref)
