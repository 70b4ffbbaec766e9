"""Batch analysis throughput: clips per second for 1 and 2 local workers and for Ray, with peak memory per worker.

The corpus is the shared real videos (``../shared/data/videos``) copied ``--repeat`` times into a
temporary folder, each clip cut to its first ``--frames`` frames; every run is ``faceqa analyze
CORPUS --out OUT/`` through :func:`faceqa.batch.run_batch` (one Parquet table per clip), timed from
the start of the batch to its last table, model loading in the workers included. Ray is a local Ray
started here (``ray.init(num_cpus=2)``; its start-up is not timed).

    python benchmarks/batch.py [--repeat 2] [--frames 60] [--runs 1,2,ray]
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
VIDEOS = REPO.parent / "shared/data/videos"


def corpus(folder: Path, repeat: int) -> list[Path]:
    """The shared videos copied ``repeat`` times into ``folder``."""
    videos = sorted(VIDEOS.glob("*/*.mp4"))
    if not videos:
        sys.exit(f"no videos under {VIDEOS}: put ../shared/data beside the checkout")
    clips = []
    for k in range(repeat):
        for v in videos:
            clip = folder / f"{k}_{v.name}"
            shutil.copyfile(v, clip)  # a copy: a batch reads no link that leads out of its folder
            clips.append(clip)
    return clips


def start_ray() -> None:
    """A local Ray with 2 CPUs running this checkout."""
    from faceqa.batch import start_local_ray

    start_local_ray(num_cpus=2, include_dashboard=False, log_to_driver=False,
                    runtime_env={"env_vars": {"PYTHONPATH": str(REPO)}})


def run(clips_dir: Path, frames: int, workers: int, ray: str | None) -> dict:
    """One batch into a fresh output folder: clips/s, and the peak memory of each worker (MB)."""
    from faceqa import batch

    out = Path(tempfile.mkdtemp(prefix="faceqa-batch-out-"))
    tasks = [batch.AnalyzeTask(key, str(path), str(out / f"{key}.parquet"))
             for key, path in batch.list_clips(clips_dir)]
    worker = batch.AnalyzeWorker(end=frames - 1)
    peaks: dict[int, float] = defaultdict(float)
    failed = 0
    start = time.perf_counter()
    for r in batch.run_batch(tasks, worker, workers, ray):
        peaks[r.pid] = max(peaks[r.pid], r.peak_mb)
        failed += not r.ok
    seconds = time.perf_counter() - start
    shutil.rmtree(out)
    return {"clips": len(tasks), "failed": failed, "seconds": seconds, "clips_per_s": len(tasks) / seconds,
            "peak_mb": sorted(peaks.values())}


def main() -> None:
    """Print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=2, help="times each shared video is in the corpus")
    parser.add_argument("--frames", type=int, default=60, help="frames analysed per clip (from the first)")
    parser.add_argument("--runs", default="1,2,ray", help="which runs, comma-separated (default 1,2,ray)")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="faceqa-batch-"))
    try:
        clips = corpus(folder, args.repeat)
        print(f"{len(clips)} clips ({args.repeat} x the shared videos), first {args.frames} frames each, "
              f"{os.cpu_count()} CPUs")
        every = {"1": ("1 worker (this process)", 1, None), "2": ("2 workers (processes)", 2, None),
                 "ray": ("Ray, 2 actors (local)", 2, "auto")}
        runs = [every[name.strip()] for name in args.runs.split(",") if name.strip() in every]
        print(f"{'run':<26} {'clips/s':>8} {'seconds':>8}  peak memory per worker (MB)")
        for name, workers, ray_address in runs:
            if ray_address is not None:
                start_ray()
            r = run(folder, args.frames, workers, ray_address)
            peaks = ", ".join(f"{p:.0f}" for p in r["peak_mb"])
            print(f"{name:<26} {r['clips_per_s']:>8.3f} {r['seconds']:>8.1f}  {peaks}"
                  + (f"  ({r['failed']} failed)" if r["failed"] else ""), flush=True)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
