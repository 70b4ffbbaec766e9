"""Natural ordering of frame files as the micro-expression datasets name them."""

from __future__ import annotations

import re
from pathlib import Path

_DIGITS = re.compile(r"(\d+)")


def natural_key(name: str) -> tuple:
    """Sort key that orders ``img2.jpg`` before ``img10.jpg`` (digits compared as numbers)."""
    parts = _DIGITS.split(name)
    return tuple(int(p) if p.isdigit() else p.lower() for p in parts)


def frame_number(path: str | Path) -> int | None:
    """The frame number a dataset encodes in a file name, or None if it has none.

    It is the last run of digits in the stem: CASME II ``img46.jpg`` -> 46, SAMM
    ``006_1_2_0001.jpg`` -> 1, CAS(ME)^3 ``123.jpg`` -> 123.
    """
    runs = _DIGITS.findall(Path(path).stem)
    return int(runs[-1]) if runs else None
