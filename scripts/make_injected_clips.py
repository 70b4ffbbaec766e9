"""Real talking video with injected subtle micro-expressions: test material with exact truth.

    python scripts/make_injected_clips.py --out /tmp/injected [--data ../shared/data] [--events 3]
                                          [--seed 0] [--videos d10 d20 short_hamilton_clip]

For each real talking clip (LivePortrait d10 and d20, face_recognition's short_hamilton_clip),
draws ``--events`` micro-expressions (one AU each, FACS A-C: intensity 0.15-0.45, 0.25-0.45 s,
random side where the AU has one), spread over the frames where the main face is tracked, and writes
``<out>/<clip>_injected.avi`` (lossless, so the subtle motion survives) with its truth
``<out>/<clip>_injected.json`` (frames relative to the clip; see faceqa.synth.inject). Nothing is
written into the repository: the source videos are shared data, not ours to commit.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
VIDEOS = {"d10": "videos/liveportrait/d10.mp4", "d20": "videos/liveportrait/d20.mp4",
          "short_hamilton_clip": "videos/face_recognition/short_hamilton_clip.mp4"}
AUS = (1, 2, 4, 6, 7, 10, 12, 14, 15, 17, 20, 23, 24)
SYMMETRIC = (17, 23, 24)


def _data_dir(arg: str | None) -> Path:
    for c in [arg, os.environ.get("FACEQA_TEST_DATA"), REPO.parent / "shared" / "data"]:
        if c and Path(c).is_dir():
            return Path(c)
    sys.exit("the real data folder was not found: pass --data or set FACEQA_TEST_DATA")


def draw_events(present: np.ndarray, fps: float, count: int, rng: np.random.Generator) -> list:
    """``count`` micro-expression events spread over the frames where the face is ``present``
    (a bool per frame), each inside a run of face frames, at least 0.5 s from other events."""
    from faceqa.synth import InjectedAU, InjectedEvent

    events: list = []
    frames = np.flatnonzero(present)
    if len(frames) == 0:
        return events
    for chunk in np.array_split(frames, count):
        if len(chunk) == 0:
            continue
        length = max(4, int(round(rng.uniform(0.25, 0.45) * fps)))
        margin = int(0.25 * fps)
        ok = [f for f in chunk if present[max(0, f - margin):f + length + margin + 1].all()
              and f + length + margin < len(present)
              and all(f > e.offset + 2 * margin or f + length < e.onset - 2 * margin for e in events)]
        if not ok:
            continue
        onset = int(rng.choice(ok))
        au = int(rng.choice(AUS))
        side = "both" if au in SYMMETRIC else str(rng.choice(["L", "R", "both"]))
        apex = onset + max(1, int(round(length * rng.uniform(0.35, 0.55))))
        events.append(InjectedEvent(onset, apex, onset + length,
                                    [InjectedAU(au, side, round(float(rng.uniform(0.15, 0.45)), 3))]))
    return events


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--data")
    ap.add_argument("--events", type=int, default=3)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--videos", nargs="+", default=list(VIDEOS), choices=list(VIDEOS))
    args = ap.parse_args(argv)
    data = _data_dir(args.data)

    from faceqa.perception import FacePipeline
    from faceqa.synth import inject_into_video
    from faceqa.synth.inject import face_track

    args.out.mkdir(parents=True, exist_ok=True)
    for k, name in enumerate(args.videos):
        video = data / VIDEOS[name]
        t0 = time.perf_counter()
        pipe = FacePipeline(emotion=None, quality=False)
        track, info = face_track(video, pipeline=pipe)
        present = np.array([lm is not None for lm in track])
        events = draw_events(present, info.fps, args.events, np.random.default_rng(args.seed * 100 + k))
        truth = inject_into_video(video, events, args.out / f"{name}_injected.avi", pipeline=pipe)
        summary = [{"frames": [e["onset"], e["apex"], e["offset"]], "aus": e["aus"]} for e in truth["events"]]
        print(f"{name}: {truth['n_frames']} frames at {truth['fps']:g} fps, {len(events)} events, "
              f"{time.perf_counter() - t0:.1f} s -> {args.out / (name + '_injected.avi')}")
        print("  " + json.dumps(summary))
        if truth["face_missing"]:
            print(f"  no face on event frames {truth['face_missing']} (left unchanged)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
