"""Speech: voice activity, transcript with word and phone timings, pauses, rate, pitch and energy."""

from faceqa.speech.evidence import SpeechConfig, SpeechEvidence, speech_evidence, voice_spans
from faceqa.speech.recognize import Phone, SphinxConfig, Word, recognize, recognize_phones, word_error_rate

__all__ = ["Phone", "SpeechConfig", "SpeechEvidence", "SphinxConfig", "Word", "recognize", "recognize_phones",
           "speech_evidence", "voice_spans", "word_error_rate"]
