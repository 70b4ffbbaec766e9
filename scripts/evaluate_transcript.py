"""Transcript word error rate and voice activity against word timings.

- ``--reference FILE.json``: a list of {"media": path (relative to the shared data root or absolute),
  "reference": the words said, transcribed by hand}; prints each clip's WER.
- Without it: sentences synthesised with eSpeak NG (the test extra's ``espeakng-loader``), whose
  reference is the synthesiser's input text (robotic speech: a hard case for PocketSphinx's
  acoustic model, trained on human voices).

Both with the default narrowed search and PocketSphinx's full search (``--full`` adds it).
Usage: ``python scripts/evaluate_transcript.py [--reference FILE] [--full]``
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

SENTENCES = ["I am not sure about this.", "Maybe we could try it tomorrow.", "Hello there, how are you today?",
             "I think we should go now.", "The weather was cold and windy all week."]


def _espeak_track():
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
    from speech_fixtures import utterance

    from faceqa.media.audio import AudioTrack

    x, _ = utterance(SENTENCES)
    return AudioTrack(x, 16000, "espeak"), " ".join(SENTENCES)


def main() -> None:
    """Print WER per clip and search."""
    from faceqa.media.audio import read_audio
    from faceqa.speech import SphinxConfig, recognize, voice_spans, word_error_rate
    from faceqa.speech.recognize import transcript
    from faceqa.synth.faces import shared_data_root

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--reference", help="JSON list of {media, reference}")
    ap.add_argument("--full", action="store_true", help="also run PocketSphinx's full (slower) search")
    args = ap.parse_args()
    cases = []
    if args.reference:
        root = shared_data_root()
        for item in json.loads(Path(args.reference).read_text()):
            p = Path(item["media"])
            p = p if p.is_absolute() or root is None else root / p
            cases.append((str(item["media"]), read_audio(p), item["reference"]))
    else:
        audio, ref = _espeak_track()
        cases.append(("espeak sentences", audio, ref))
    searches = [("narrowed", SphinxConfig())] + ([("full", SphinxConfig(fast=False))] if args.full else [])
    for name, audio, ref in cases:
        voice = voice_spans(audio)
        for label, cfg in searches:
            c = time.process_time()
            words = recognize(audio, cfg)
            cpu = time.process_time() - c
            inside = np.mean([any(a - 0.1 <= (w.start_s + w.end_s) / 2 <= b + 0.1 for a, b, _ in voice)
                              for w in words]) if words else float("nan")
            print(f"{name} [{label}]: WER {word_error_rate(ref, transcript(words)):.3f} ({len(ref.split())} reference "
                  f"words, {len(words)} recognised; cpu {cpu:.1f} s for {audio.duration_s:.1f} s); words inside voice "
                  f"spans {inside:.0%}\n  heard: {transcript(words)}")


if __name__ == "__main__":
    main()
