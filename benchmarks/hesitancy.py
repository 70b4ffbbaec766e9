"""Real-time factor of ``faceqa hesitancy`` on the three shared speech clips (d10, d20, short_hamilton_clip).

Runs the cues end to end in one process (models loaded once, on a warm-up of the first clip) and
prints per clip: duration, wall time, CPU time of this process, and the face / speech split; then the
totals. Real-time factor = time / clip duration (< 1: faster than real time).
Usage: ``python benchmarks/hesitancy.py``
"""

from __future__ import annotations

import time

CLIPS = ("liveportrait/d10.mp4", "liveportrait/d20.mp4", "face_recognition/short_hamilton_clip.mp4")


def main() -> None:
    """Print the real-time factors."""
    from faceqa.hesitancy import hesitancy_cues
    from faceqa.synth.faces import shared_data_root

    root = shared_data_root()
    if root is None:
        raise SystemExit("no shared data (../shared/data or $FACEQA_TEST_DATA)")
    t, c = time.perf_counter(), time.process_time()
    hesitancy_cues(root / "videos" / CLIPS[1])
    print(f"warm-up (model loading + d20): wall {time.perf_counter() - t:.1f} s, cpu {time.process_time() - c:.1f} s")
    total = {"dur": 0.0, "wall": 0.0, "cpu": 0.0}
    for clip in CLIPS:
        t, c = time.perf_counter(), time.process_time()
        cues = hesitancy_cues(root / "videos" / clip)
        wall, cpu = time.perf_counter() - t, time.process_time() - c
        total["dur"] += cues.duration_s
        total["wall"] += wall
        total["cpu"] += cpu
        print(f"{clip}: {cues.duration_s:.1f} s; wall {wall:.1f} s (RTF {wall / cues.duration_s:.2f}), cpu {cpu:.1f} s "
              f"(RTF {cpu / cues.duration_s:.2f}); face {cues.timing_s['face']} s, speech {cues.timing_s['speech']} s")
    print(f"all three: {total['dur']:.1f} s of video; wall RTF {total['wall'] / total['dur']:.2f}, "
          f"cpu RTF {total['cpu'] / total['dur']:.2f}")


if __name__ == "__main__":
    main()
