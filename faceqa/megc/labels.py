"""The AU-labels CSV: oracle AU evidence per clip (``--au-labels``), and events of long videos.

Columns (header row required, UTF-8, any order):

==========  =====================================================================================
``video``   the clip id the question file uses: ``video`` in 2026 files, ``image_id`` in 2025 files
            (a column named ``image_id`` is read as ``video``)
``aus``     the AUs, as FACS codes (``4+R10``, ``L12``) or MEGC names joined by ``", "``
            (``brow lowerer, right upper lip raiser``); may be empty
``onset``   optional: first frame of the event (one row per event of a long video)
``apex``    optional: apex frame
``offset``  optional: last frame
``type``    optional: ``micro`` / ``macro`` (``micro-expression``, ``Macro-expression`` also read)
``emotion`` optional: the event's fine emotion class (gold events; read for STRS, never for answering)
==========  =====================================================================================

A clip's AUs are the union of its rows' AUs in written order; its rows that have an onset and
offset are its events. The same layout is written by ``faceqa megc predict`` (``PRED.events.csv``:
the spotted events) and ``faceqa megc gold-from-annotations --events-out`` (the annotated ones).
"""

from __future__ import annotations

import csv
import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from faceqa.errors import FaceQAError, InvalidInputError
from faceqa.facs.annotations import LabelledExpression
from faceqa.facs.au_codes import AUCode, format_au_codes, parse_aus
from faceqa.facs.emotion_classes import coarse_of, normalise_fine
from faceqa.safeio import read_csv

EVENT_COLUMNS = ("video", "onset", "apex", "offset", "type", "aus", "emotion")
"""Columns of an events CSV, in written order."""


@dataclass
class ClipLabels:
    """Oracle labels of one clip: its AUs and, for long videos, its events."""

    clip: str
    aus: list[AUCode] = field(default_factory=list)
    events: list[LabelledExpression] = field(default_factory=list)


def _int(row: dict, key: str, where: str) -> int | None:
    value = (row.get(key) or "").strip()
    if not value:
        return None
    try:
        number = float(value)
    except ValueError:
        raise InvalidInputError(f"{where}: field {key!r} must be a frame number, got {value!r}") from None
    if not number.is_integer() or number < 0:
        raise InvalidInputError(f"{where}: field {key!r} must be a whole frame number >= 0, got {value!r}")
    return int(number)


def _kind(value: str, where: str) -> str | None:
    v = value.strip().lower()
    if not v:
        return None
    if v.startswith("micro"):
        return "micro"
    if v.startswith("macro"):
        return "macro"
    raise InvalidInputError(f"{where}: field 'type' must be micro or macro, got {value!r}")


def read_au_labels(path: str | os.PathLike) -> dict[str, ClipLabels]:
    """Read an AU-labels (or events) CSV -> clip id -> :class:`ClipLabels`, in file order."""
    path = Path(path)
    if not path.is_file():
        raise InvalidInputError(f"{path}: AU-labels file not found")
    out: dict[str, ClipLabels] = {}
    columns, reader = read_csv(path, "AU-labels file")
    key = "video" if "video" in columns else "image_id" if "image_id" in columns else None
    if key is None or "aus" not in columns:
        raise InvalidInputError(f"{path}: needs columns 'video' (or 'image_id') and 'aus'; found {columns}")
    for n, row in enumerate(reader, 2):
        where = f"{path}:{n}"
        clip = (row.get(key) or "").strip()
        if not clip:
            raise InvalidInputError(f"{where}: field {key!r} is empty")
        try:
            aus = parse_aus(row.get("aus") or "")
        except FaceQAError as exc:
            raise InvalidInputError(f"{where}: field 'aus': {exc}") from None
        labels = out.setdefault(clip, ClipLabels(clip))
        labels.aus += [a for a in aus if a not in labels.aus]
        onset, apex, offset = (_int(row, k, where) for k in ("onset", "apex", "offset"))
        if (onset is None) != (offset is None):
            raise InvalidInputError(f"{where}: an event needs both 'onset' and 'offset'")
        if onset is not None and offset < onset:
            raise InvalidInputError(f"{where}: offset {offset} is before onset {onset}")
        if onset is None:
            continue
        emotion = (row.get("emotion") or "").strip()
        try:
            fine = normalise_fine(emotion) if emotion else None
        except FaceQAError as exc:
            raise InvalidInputError(f"{where}: field 'emotion': {exc}") from None
        labels.events.append(LabelledExpression(
            dataset="labels", subject="", clip=clip, aus=tuple(aus), fine=fine,
            coarse=coarse_of(fine) if fine else None, onset=onset, apex=apex, offset=offset,
            expression_type=_kind(row.get("type") or "", where)))
    return out


def event_row(video: str, onset: int | None, apex: int | None, offset: int | None, kind: str,
              aus: Iterable[AUCode], emotion: str | None) -> dict[str, str]:
    """One events-CSV row."""
    return {"video": video, "onset": "" if onset is None else str(onset), "apex": "" if apex is None else str(apex),
            "offset": "" if offset is None else str(offset), "type": kind, "aus": format_au_codes(aus),
            "emotion": emotion or ""}


def write_csv(path: str | os.PathLike, rows: Iterable[dict[str, str]], columns: Iterable[str] = EVENT_COLUMNS,
              append: bool = False) -> None:
    """Write rows to a CSV with ``columns`` (header written unless appending to an existing file)."""
    path = Path(path)
    columns = list(columns)
    header = not (append and path.is_file() and path.stat().st_size > 0)
    with path.open("a" if append else "w", encoding="utf-8", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=columns, extrasaction="raise")
        if header:
            writer.writeheader()
        writer.writerows(rows)


def read_csv_rows(path: str | os.PathLike) -> list[dict[str, str]]:
    """All rows of a CSV as dicts (empty list when the file does not exist)."""
    path = Path(path)
    if not path.is_file():
        return []
    return read_csv(path)[1]
