"""Decode ahead on a background thread, so decoding overlaps the models (OpenCV and LiteRT release the GIL)."""

from __future__ import annotations

import contextvars
import queue
import threading
from collections.abc import Iterable, Iterator
from typing import TypeVar

T = TypeVar("T")
_DONE = object()


def prefetch(items: Iterable[T], size: int = 4) -> Iterator[T]:
    """Yield ``items`` in order while a thread produces up to ``size`` ahead (memory stays bounded).

    An exception in the producer is raised here, at the point of the item it failed on; closing the
    generator early stops the producer. The producer runs in a copy of the caller's context, so the
    confinement of :func:`faceqa.safeio.confined` and the :mod:`faceqa.deadline` apply to it.
    """
    q: queue.Queue = queue.Queue(maxsize=size)
    stop = threading.Event()

    def produce() -> None:
        try:
            for item in items:
                while not stop.is_set():
                    try:
                        q.put((item, None), timeout=0.1)
                        break
                    except queue.Full:
                        continue
                if stop.is_set():
                    return
            q.put((_DONE, None))
        except BaseException as exc:  # handed to the consumer, which re-raises it
            q.put((_DONE, exc))

    context = contextvars.copy_context()  # the producer opens files under the caller's confinement and deadline
    thread = threading.Thread(target=context.run, args=(produce,), daemon=True, name="faceqa-prefetch")
    thread.start()
    try:
        while True:
            item, exc = q.get()
            if item is _DONE:
                if exc is not None:
                    raise exc
                return
            yield item
    finally:
        stop.set()
        while thread.is_alive():
            try:
                q.get_nowait()
            except queue.Empty:
                thread.join(timeout=0.05)
