"""Gallery benchmark: enrol N synthetic 128-D vectors, then time open-set identification.

Each person is a cluster: a random unit centre, and ``--per-person`` members drawn around it
(gaussian noise, then unit-normalised, like face embeddings: same-person distances ~0.5,
different-person ~1.4). Every person is enrolled in its own transaction, as ``faceqa gallery
enroll`` would. Queries are fresh samples from random persons' clusters; rank-1 accuracy is
printed as a sanity check that search is right, not only fast.

Each backend runs in its own process, so its peak memory (ru_maxrss) is its own; ``base``
is the peak after generating the data, before the gallery opened.

    python benchmarks/gallery.py                     # 100k vectors, both backends
    python benchmarks/gallery.py --n 5000 --backends sqlite
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import resource
import sys
import tempfile
import time
from pathlib import Path
from queue import Empty

import numpy as np

from faceqa.gallery import Gallery
from faceqa.gallery.store import DIM

URIS = {"sqlite": "gallery.sqlite", "milvus-lite": "gallery.milvus.db"}


def synthetic(n: int, per_person: int, queries: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(vectors (n, 128), query vectors (queries, 128), the person index of each query)."""
    rng = np.random.default_rng(seed)
    persons = -(-n // per_person)
    centres = _normalise(rng.standard_normal((persons, DIM), dtype=np.float32))
    vectors = np.empty((n, DIM), np.float32)
    for start in range(0, n, 10_000):  # in chunks, so generating adds little to peak memory
        owner = np.arange(start, min(start + 10_000, n)) // per_person
        vectors[start:start + len(owner)] = _members(centres[owner], rng)
    truth = rng.integers(0, persons, queries)
    return vectors, _members(centres[truth], rng), truth


def _members(centres: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    return _normalise(centres + 0.03 * rng.standard_normal(centres.shape, dtype=np.float32))


def _normalise(v: np.ndarray) -> np.ndarray:
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def peak_rss_mb() -> float:
    """This process's peak resident memory so far, in MiB (Linux reports KiB, macOS bytes)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 2**20 if sys.platform == "darwin" else peak / 1024


def run_backend(backend: str, folder: str, args: argparse.Namespace) -> dict[str, float | str | int]:
    """Enrol and identify on one backend; return its figures."""
    vectors, queries, truth = synthetic(args.n, args.per_person, args.queries, args.seed)
    base = peak_rss_mb()
    t0 = time.perf_counter()
    gallery = Gallery.open(Path(folder) / URIS[backend])
    open_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    for start in range(0, len(vectors), args.per_person):
        person = start // args.per_person
        chunk = vectors[start:start + args.per_person]
        gallery.enroll(f"person{person:06d}", chunk, [f"p{person}/{i}.jpg" for i in range(len(chunk))])
    enrol_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    gallery.identify(queries[0], top_k=args.top_k)
    cold_ms = 1000 * (time.perf_counter() - t0)
    latencies, correct = [], 0
    for q, person in zip(queries, truth, strict=True):
        t0 = time.perf_counter()
        result = gallery.identify(q, top_k=args.top_k)
        latencies.append(1000 * (time.perf_counter() - t0))
        correct += result.label == f"person{person:06d}"
    stored = gallery.store.count()
    gallery.close()
    return {"backend": backend, "vectors": stored, "persons": -(-args.n // args.per_person),
            "open_s": open_s, "enrol_s": enrol_s, "enrol_per_s": len(vectors) / enrol_s,
            "cold_query_ms": cold_ms, "p50_ms": float(np.percentile(latencies, 50)),
            "p95_ms": float(np.percentile(latencies, 95)), "mean_ms": float(np.mean(latencies)),
            "rank1": correct / len(truth), "base_rss_mb": base, "peak_rss_mb": peak_rss_mb()}


def _child(backend: str, folder: str, args: argparse.Namespace, out: mp.Queue) -> None:
    out.put(run_backend(backend, folder, args))


def _result(queue: mp.Queue, proc: mp.process.BaseProcess) -> dict[str, float | str | int]:
    """The child's figures; exits with its code if it died without sending them."""
    while True:
        try:
            return queue.get(timeout=1.0)
        except Empty:
            if not proc.is_alive():
                raise SystemExit(f"benchmark process failed with exit code {proc.exitcode}") from None


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark for each backend and print one row each."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=100_000, help="vectors to enrol (default 100000)")
    parser.add_argument("--per-person", type=int, default=5, help="vectors per person (default 5)")
    parser.add_argument("--queries", type=int, default=200, help="timed identifications (default 200)")
    parser.add_argument("--top-k", type=int, default=5, help="persons per answer (default 5)")
    parser.add_argument("--backends", nargs="+", choices=sorted(URIS), default=["sqlite", "milvus-lite"])
    parser.add_argument("--dir", help="where to put the galleries (default: a temporary folder, removed)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", action="store_true", help="print one JSON object per backend")
    args = parser.parse_args(argv)
    if args.n < 1 or args.per_person < 1 or args.queries < 1 or args.top_k < 1:
        parser.error("--n, --per-person, --queries and --top-k must be positive")

    with tempfile.TemporaryDirectory(prefix="faceqa-gallery-bench-") as tmp:
        ctx = mp.get_context("spawn")
        rows = []
        for backend in args.backends:
            folder = Path(args.dir or tmp) / backend
            folder.mkdir(parents=True, exist_ok=True)
            queue = ctx.Queue()
            proc = ctx.Process(target=_child, args=(backend, str(folder), args, queue))
            proc.start()
            row = _result(queue, proc)
            proc.join()
            rows.append(row)
            if args.json:
                print(json.dumps(row), flush=True)
    if not args.json:
        print(f"gallery benchmark: {args.n} vectors ({args.per_person} per person), {args.queries} queries, "
              f"top_k={args.top_k}, dim {DIM}")
        print(f"{'backend':<12} {'enrol s':>8} {'vec/s':>8} {'cold ms':>8} {'p50 ms':>7} {'p95 ms':>7} "
              f"{'rank1':>6} {'base MiB':>9} {'peak MiB':>9}")
        for r in rows:
            print(f"{r['backend']:<12} {r['enrol_s']:>8.1f} {r['enrol_per_s']:>8.0f} {r['cold_query_ms']:>8.1f} "
                  f"{r['p50_ms']:>7.2f} {r['p95_ms']:>7.2f} {r['rank1']:>6.3f} {r['base_rss_mb']:>9.0f} "
                  f"{r['peak_rss_mb']:>9.0f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
