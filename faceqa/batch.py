"""Many clips at once: one code path for a single process, a pool of local worker processes, or Ray.

:func:`run_batch` hands each task to a *worker*: a picklable object with a ``run(task)`` method that
loads its models on first use and keeps them, so models are loaded once per worker process, never
per clip. Where the work runs:

- ``workers=1`` (no Ray): in this process, one task after another;
- ``workers=N``: N local processes (``spawn``; each limited to its share of the CPU threads);
- ``ray="auto"`` (a running Ray cluster if one is found, else a local Ray started here) or
  ``ray="ADDRESS"``: one Ray actor per worker (``workers``, default: the cluster's CPUs), each
  keeping the worker objects it is given (so their models) for later batches of the session. The
  cluster's nodes must have faceqa installed (a local Ray started here runs this faceqa) and reach
  the inputs and outputs at the same paths.

Every task gives one :class:`BatchResult`, in completion order: the worker's value, or the error
(a FaceQAError's one line, or the type and text of anything else) so one bad clip never stops the
batch; with the seconds it took and the worker's peak memory so far.

:func:`list_clips` turns ``DIR`` or a glob into the clips of a corpus, each with a key that names
its output file; :class:`AnalyzeWorker` is ``faceqa analyze``'s per-clip work (one table per clip,
written atomically: a clip whose table exists is done, so a rerun resumes).
"""

from __future__ import annotations

import glob
import hashlib
import os
import resource
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from faceqa.errors import FaceQAError, InvalidInputError
from faceqa.safeio import check_path, display

_WORKER: Any = None
"""The worker object of this process (set in each pool process by :func:`_init_pool`)."""


class Worker(Protocol):
    """What :func:`run_batch` runs: picklable; ``run`` loads models on first use and keeps them."""

    def run(self, task: Any) -> Any:
        """Do one task; raise on failure."""


@dataclass
class BatchResult:
    """One task's outcome: ``value`` or ``error`` (one line), seconds, the worker's pid and peak memory (MB)."""

    task: Any
    value: Any = None
    error: str | None = None
    seconds: float = 0.0
    pid: int = 0
    peak_mb: float = 0.0

    @property
    def ok(self) -> bool:
        """Whether the task succeeded."""
        return self.error is None


def peak_memory_mb() -> float:
    """This process's peak resident memory so far, in MB."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def error_line(exc: BaseException) -> str:
    """One line saying what went wrong (a FaceQAError's message; else its type and text)."""
    text = " ".join(str(exc).split())
    return text if isinstance(exc, FaceQAError) else f"{type(exc).__name__}: {text[:300]}"


def run_task(worker: Worker, task: Any) -> BatchResult:
    """Run one task on ``worker``, catching its error."""
    start = time.perf_counter()
    try:
        value, error = worker.run(task), None
    except Exception as exc:  # noqa: BLE001 - a batch records the clip's error and goes on
        value, error = None, error_line(exc)
    return BatchResult(task, value, error, time.perf_counter() - start, os.getpid(), peak_memory_mb())


def _init_pool(worker: Worker, threads: int) -> None:
    global _WORKER
    _WORKER = worker
    _limit_threads(threads)


def _pool_task(task: Any) -> BatchResult:
    return run_task(_WORKER, task)


def _limit_threads(threads: int) -> None:
    """Keep a worker to ``threads`` CPU threads (torch, OpenMP, OpenCV), so N workers do not fight over the
    cores: set before the libraries load in a fresh worker, applied to those already loaded."""
    import sys

    for name in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        os.environ[name] = str(threads)
    if "torch" in sys.modules:
        sys.modules["torch"].set_num_threads(threads)
    if "cv2" in sys.modules:
        sys.modules["cv2"].setNumThreads(threads)


class _RayActor:
    """A Ray actor running tasks of any worker; keeps each worker object (and so its models) it was given,
    by the worker's settings, so a later batch with the same settings reuses them."""

    def __init__(self) -> None:
        self.workers: dict[bytes, Worker] = {}

    def run(self, key: bytes, worker: Worker, task: Any) -> BatchResult:
        kept = self.workers.setdefault(key, worker)
        return run_task(kept, task)


_ACTORS: list[Any] = []
"""The Ray actors of this process's Ray session, reused by later batches (their imports and models stay)."""


def start_local_ray(wait_s: float = 180.0, **options: Any) -> None:
    """``ray.init(**options)`` for a local Ray, giving the new node up to ``wait_s`` to register (Ray itself
    waits a fixed 30 s, which a loaded machine misses while Ray's own Python agents start)."""
    import ray
    import ray._private.services as services

    original = services.get_node

    def patient_get_node(gcs_address, node_id):
        end = time.monotonic() + wait_s
        while True:
            try:
                return original(gcs_address, node_id)
            except RuntimeError:
                if time.monotonic() > end:
                    raise
                time.sleep(0.5)

    services.get_node = patient_get_node
    try:
        ray.init(**options)
    finally:
        services.get_node = original


def _ray(address: str):
    """The ``ray`` module, connected: to ``address``, or for ``auto`` to a running cluster, else a local one."""
    try:
        import ray
    except ImportError:
        raise InvalidInputError("--ray needs Ray: pip install 'faceqa[ray]'") from None
    if not ray.is_initialized():
        here = str(Path(__file__).resolve().parents[1])
        env = {"env_vars": {"PYTHONPATH": os.pathsep.join(p for p in (here, os.environ.get("PYTHONPATH")) if p)}}
        try:
            if address == "auto":
                start_local_ray(runtime_env=env, log_to_driver=False, include_dashboard=False)
            else:
                ray.init(address=address, log_to_driver=False)
        except (ConnectionError, RuntimeError, ValueError) as exc:
            raise InvalidInputError(f"--ray {address}: cannot connect to Ray ({error_line(exc)})") from None
    return ray


def run_batch(tasks: Sequence[Any], worker: Worker, workers: int | None = 1, ray: str | None = None,
              progress: bool = False, desc: str = "batch") -> Iterator[BatchResult]:
    """Run ``worker.run`` on every task (see the module docstring); yields results as they complete.
    ``workers`` None: 1 locally, the cluster's CPUs on Ray."""
    if workers is not None and (isinstance(workers, bool) or not isinstance(workers, int) or workers < 1):
        raise InvalidInputError(f"workers must be a whole number >= 1, got {workers!r}")
    bar = None
    if progress and tasks:
        from tqdm import tqdm

        bar = tqdm(total=len(tasks), unit="clip", desc=desc)
    try:
        for result in _results(list(tasks), worker, workers, ray):
            if bar is not None:
                bar.update(1)
            yield result
    finally:
        if bar is not None:
            bar.close()


def _results(tasks: list[Any], worker: Worker, workers: int, ray: str | None) -> Iterable[BatchResult]:
    if not tasks:
        return
    if ray is not None:
        yield from _ray_results(tasks, worker, workers, ray)
    elif workers in (None, 1):
        for task in tasks:
            yield run_task(worker, task)
    else:
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor, as_completed

        n = min(workers, len(tasks))
        threads = max(1, (os.cpu_count() or 1) // n)
        with ProcessPoolExecutor(n, mp_context=multiprocessing.get_context("spawn"), initializer=_init_pool,
                                 initargs=(worker, threads)) as pool:
            futures = [pool.submit(_pool_task, task) for task in tasks]
            for future in as_completed(futures):
                yield future.result()


def _ray_results(tasks: list[Any], worker: Worker, workers: int | None, address: str) -> Iterable[BatchResult]:
    import pickle

    ray = _ray(address)
    from ray.util import ActorPool

    n = min(workers or max(1, int(ray.cluster_resources().get("CPU", 1))), len(tasks))
    if _ACTORS and not ray.is_initialized():
        _ACTORS.clear()
    actor = ray.remote(num_cpus=1)(_RayActor)
    while len(_ACTORS) < n:
        _ACTORS.append(actor.remote())
    key = hashlib.sha1(pickle.dumps(worker)).digest()
    shared = ray.put(worker)
    yield from ActorPool(_ACTORS[:n]).map_unordered(lambda a, task: a.run.remote(key, shared, task), tasks)


# -- a corpus of clips ---------------------------------------------------------------------------------------


def _is_clip(path: Path) -> bool:
    from faceqa.media.sources import IMAGE_EXTS, VIDEO_EXTS

    if path.is_dir():
        return any(p.suffix.lower() in IMAGE_EXTS for p in path.iterdir())
    return path.suffix.lower() in VIDEO_EXTS or path.suffix.lower() in IMAGE_EXTS


def list_clips(source: str | os.PathLike) -> list[tuple[str, Path]]:
    """(key, path) of the clips of ``source``: a folder (its videos, images and folders of frames, not
    deeper) or a glob pattern (``**`` recursive). The key is the path relative to the folder (the glob's
    fixed part) with ``/`` as ``__``: the output file's name. Clips whose real location leaves that
    folder (a link out) are left out."""
    text = os.fspath(source)
    if glob.has_magic(text):
        fixed = []
        for part in Path(text).parts:
            if glob.has_magic(part):
                break
            fixed.append(part)
        base = Path(*fixed) if fixed else Path(".")
        candidates = [Path(p) for p in sorted(glob.glob(text, recursive=True))]
    else:
        path = check_path(text, "clips")
        if path.is_file():  # one clip
            return [(path.name, path)]
        if not path.is_dir():
            raise InvalidInputError(f"{display(path)}: expected a folder of clips, a glob pattern or a media file")
        base, candidates = path, sorted(path.iterdir())
    real_base = os.path.realpath(base)
    clips = []
    for p in candidates:
        if not _is_clip(p):
            continue
        if os.path.commonpath([os.path.realpath(p), real_base]) != real_base:
            continue
        key = os.path.relpath(p, base).replace(os.sep, "__")
        clips.append((key, p))
    if not clips:
        raise InvalidInputError(f"{display(text)}: no clips found (videos, images, or folders of frames)")
    return clips


@dataclass
class AnalyzeTask:
    """One clip of ``faceqa analyze DIR --out OUT_DIR/``: its key, media path and table path."""

    key: str
    media: str
    out: str


@dataclass
class AnalyzeWorker:
    """``faceqa analyze``'s per-clip work: the perception pass, its table written atomically to the
    task's ``out``; returns the clip's summary. The pipeline is built on first use and kept."""

    fps: float | None = None
    start: int | None = None
    end: int | None = None
    every: int = 1
    max_faces: int = 5
    iris: bool = False
    emotion: str | None = "fer"
    landmarks: str | None = "columns"

    def __post_init__(self) -> None:
        self._pipe = None

    def __getstate__(self) -> dict:
        return {k: v for k, v in self.__dict__.items() if k != "_pipe"} | {"_pipe": None}

    def run(self, task: AnalyzeTask) -> dict:
        """Analyse one clip into its table; the summary of the clip."""
        from faceqa.media import open_media
        from faceqa.perception.export import TableWriter
        from faceqa.perception.pipeline import Analysis, FacePipeline

        if self._pipe is None:
            self._pipe = FacePipeline(max_faces=self.max_faces, iris=self.iris, emotion=self.emotion)
        media = open_media(task.media, fps=self.fps, start=self.start, end=self.end, every=self.every)
        analysis = Analysis(media.info)
        with TableWriter(task.out, self.landmarks) as writer:
            pending = []
            for _, records in self._pipe.stream(media):
                analysis.frames += 1
                pending.extend(records)
                if len(pending) >= 256:
                    flush_records(writer, pending, analysis)
            flush_records(writer, pending, analysis)
        return analysis.summary() | {"out": task.out}


def flush_records(writer, pending: list, analysis) -> None:
    """Write the pending records and keep only what the summary needs of them."""
    writer.write(pending)
    for r in pending:  # keep only what the summary needs
        r.landmarks = None
    analysis.records.extend(pending)
    pending.clear()
