"""Audio-video sync on the shared speech clips with the audio shifted by known offsets.

For each clip (d10, d20, short_hamilton_clip in ../shared/data/videos or $FACEQA_TEST_DATA/videos) the
lips are tracked once; the audio is then delayed or advanced by -300..+300 ms in 25 ms steps and
``estimate_offset`` is asked for the offset. Two scores, because a clip's own audio need not be in
sync with its video:

- absolute: the estimate against the shift (assumes each clip is in sync as shipped);
- relative: the estimate minus the clip's own unshifted estimate, against the shift.

Also prints, per clip, how often visual voice activity (lip motion) agrees with the audio's (Silero VAD).
``--lipsync`` adds the clip that ``tests/test_lipsync.py`` makes (``faceqa lipsync`` on the astronaut
with eSpeak NG speech), whose true offset is 0.
Usage: ``python scripts/evaluate_av_sync.py [--step-ms 25] [--tolerance-ms 40] [--lipsync]``
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

CLIPS = ("liveportrait/d10.mp4", "liveportrait/d20.mp4", "face_recognition/short_hamilton_clip.mp4")


def lipsync_clip(folder: Path) -> Path:
    """The talking head of tests/test_lipsync.py, written into ``folder``."""
    import cv2
    from skimage import data

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
    from speech_fixtures import utterance

    from faceqa.audiovisual.lipsync import lipsync
    from faceqa.media.audio import write_wav

    face = cv2.resize(np.ascontiguousarray(data.astronaut()[20:276, 110:366]), (256, 256))
    cv2.imwrite(str(folder / "face.png"), cv2.cvtColor(face, cv2.COLOR_RGB2BGR))
    x, _ = utterance(["Hello there, how are you?", "We should go now."], gap_s=1.0)
    write_wav(folder / "speech.wav", x)
    lipsync(folder / "face.png", folder / "speech.wav", folder / "talking.mp4")
    return folder / "talking.mp4"


def main() -> None:
    """Print the hit rates and error distribution."""
    from faceqa.audiovisual.mouth import mouth_track, visual_voice_activity
    from faceqa.audiovisual.sync import estimate_offset, shift_audio
    from faceqa.media.audio import read_audio
    from faceqa.perception.voice import speech_at
    from faceqa.synth.faces import shared_data_root

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--step-ms", type=int, default=25)
    ap.add_argument("--tolerance-ms", type=float, default=40.0)
    ap.add_argument("--lipsync", action="store_true", help="also the generated talking head (true offset 0)")
    args = ap.parse_args()
    root = shared_data_root()
    if root is None:
        raise SystemExit("no shared data (../shared/data or $FACEQA_TEST_DATA)")
    shifts = np.arange(-300, 301, args.step_ms)
    absolute, relative = [], []
    paths = [root / "videos" / clip for clip in CLIPS]
    if args.lipsync:
        paths.append(lipsync_clip(Path(tempfile.mkdtemp())))
    for path in paths:
        clip = path.name
        t = time.perf_counter()
        track = mouth_track(path)
        audio = read_audio(path)
        native = estimate_offset(track, audio)
        est = np.array([estimate_offset(track, shift_audio(audio, float(s))).offset_ms for s in shifts])
        vva = visual_voice_activity(track)
        vad = speech_at(track.times_s - audio.start_s, audio) >= 0.5
        agree = float((vva == vad)[track.valid].mean())
        took = time.perf_counter() - t
        if path.name == "talking.mp4":
            e = np.abs(est - shifts)
            print(f"lipsync clip: unshifted {native.offset_ms:+.0f} ms (confidence {native.confidence:.2f}); "
                  f"{np.mean(e <= args.tolerance_ms):.0%} of shifts within {args.tolerance_ms:.0f} ms "
                  f"(median {np.median(e):.0f} ms); visual vs audio voice activity agree on {agree:.0%} of frames "
                  f"(audio speech in {vad.mean():.0%})")
            continue
        absolute.append(est - shifts)
        relative.append(est - native.offset_ms - shifts)
        print(f"{clip}: unshifted offset {native.offset_ms:+.0f} ms (confidence {native.confidence:.2f}, "
              f"r {native.correlation:.2f}); absolute hits {np.mean(np.abs(absolute[-1]) <= args.tolerance_ms):.0%}, "
              f"relative hits {np.mean(np.abs(relative[-1]) <= args.tolerance_ms):.0%}; visual vs audio voice "
              f"activity agree on {agree:.0%} of face frames, audio speech in {vad.mean():.0%} ({took:.1f} s)")
    for name, errs in (("absolute", absolute), ("relative", relative)):
        e = np.abs(np.concatenate(errs))
        print(f"{name}: {np.mean(e <= args.tolerance_ms):.1%} of {len(e)} within {args.tolerance_ms:.0f} ms; "
              f"|error| median {np.median(e):.0f} ms, p90 {np.percentile(e, 90):.0f} ms, max {e.max():.0f} ms")


if __name__ == "__main__":
    main()
