"""A time limit for one piece of work (a tool call), checked cooperatively where work is done in steps.

``with deadline(60, "analyze_faces"):`` sets the limit for the code inside (this thread or task
only: a context variable); :func:`check_deadline` raises :class:`~faceqa.errors.TimeLimitError` once
it has passed. Media iteration checks it before each frame and downloads before each read, so a
call over its limit stops within one frame, however long the video.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from faceqa.errors import TimeLimitError

_DEADLINE: ContextVar[tuple[float, float, str] | None] = ContextVar("faceqa_deadline", default=None)


@contextmanager
def deadline(seconds: float, what: str = "the call") -> Iterator[None]:
    """Limit the work inside the block to ``seconds`` (an outer, earlier deadline still applies)."""
    end = time.monotonic() + seconds
    outer = _DEADLINE.get()
    token = _DEADLINE.set(outer if outer is not None and outer[0] <= end else (end, seconds, what))
    try:
        yield
    finally:
        _DEADLINE.reset(token)


def remaining() -> float | None:
    """Seconds left before the current deadline (None: no deadline)."""
    current = _DEADLINE.get()
    return None if current is None else current[0] - time.monotonic()


def check_deadline() -> None:
    """Raise TimeLimitError when the current deadline has passed."""
    current = _DEADLINE.get()
    if current is not None and time.monotonic() > current[0]:
        raise TimeLimitError(f"{current[2]}: stopped at its time limit of {current[1]:g} s")
