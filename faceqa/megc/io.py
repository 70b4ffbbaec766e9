"""Read and write the MEGC question, gold and prediction files exactly as published.

Three JSONL layouts, one JSON object per line:

- **ME-VQA 2025** (``me_vqa_samm_casme2_smic.jsonl``, ``me_vqa_{samm,casme3}_test_to_answer.jsonl``):
  ``id, dataset, image_id, subject, filename, question, answer``; the test files add
  ``onset_frame, offset_frame`` (the clip inside the long recording ``filename``).
- **ME-VQA v2 2026** and **ME-LVQA 2026** (``me_lvqa_{samm,casme3}_test_to_answer.jsonl``):
  ``video_id, video, question, answer``; told apart by their questions (ME-LVQA asks about
  events in long videos).
- **Submissions** (the example prediction files of both years): ``video_id, video, question,
  answer``. A 2025 question row is submitted with ``video_id`` = its ``id`` and ``video`` = its
  ``image_id``.

``QAFile.format`` names the task from the questions: events in long videos -> ME-LVQA 2026, a
detailed analysis -> ME-VQA v2 2026, the compound question or the 2025 keys -> ME-VQA 2025.

Every row becomes a :class:`QARow`: ``qid`` (``id`` or ``video_id``, the key predictions and gold
are joined on), ``clip`` (``image_id`` or ``video``: the rows of one clip share it), the question,
the answer, and the dataset. The dataset is the ``dataset`` field without ``_test``, or the first
word of ``video_id`` (``samm_test_...``, ``casme3_test_...``). One correction: the published 2025
CAS(ME)^3 test file labels its rows ``samm_test``; a ``samm`` row whose subject is not a number
(SAMM subjects are numbers, CAS(ME)^3's are letters: ``dzw``) is read as ``casme3``.

:func:`read_qa_labels` reads an answered ME-VQA file as expert labels: one
:class:`~faceqa.facs.annotations.LabelledExpression` per clip, its AUs, sides, fine and coarse
classes taken from the answers.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from faceqa.errors import InvalidInputError
from faceqa.facs.annotations import LabelledExpression
from faceqa.facs.au_codes import parse_au_names
from faceqa.facs.emotion_classes import normalise_coarse, normalise_fine
from faceqa.facs.units import au_by_name
from faceqa.safeio import atomic_output, display, read_text

FORMAT_VQA_2025 = "me-vqa-2025"
FORMAT_VQA_V2_2026 = "me-vqa-v2-2026"
FORMAT_LVQA_2026 = "me-lvqa-2026"
FORMATS = (FORMAT_VQA_2025, FORMAT_VQA_V2_2026, FORMAT_LVQA_2026)
SUBMISSION_KEYS = ("video_id", "video", "question", "answer")
"""Keys of a submission row, in the order the example prediction files write them."""
MEGC2025_TRAIN_QA = "vqa/megc2025_mevqa/me_vqa_samm_casme2_smic.jsonl"
"""The MEGC 2025 ME-VQA training file inside the shared data folder (../shared/data)."""

_DATASET_PREFIX = re.compile(r"^(samm|casme2|casme3|casme|cas|smic)(?:_|$)", re.IGNORECASE)


@dataclass(frozen=True)
class QARow:
    """One question row of any MEGC file.

    Attributes:
        qid: the row's key (``id`` in 2025 files, ``video_id`` in 2026 files and submissions).
        clip: the clip the row asks about (``image_id`` / ``video``).
        question, answer: the texts (answer "" when not answered).
        dataset: ``samm``, ``casme2``, ``casme3``, ``smic`` or None (see the module docstring).
        subject, filename: as the 2025 files give them (None in 2026 files).
        onset, offset: frames of the clip inside ``filename`` (2025 test files), or None.
        line: line number in the file (1-based).
        fields: the row as read.
    """

    qid: str
    clip: str
    question: str
    answer: str
    dataset: str | None = None
    subject: str | None = None
    filename: str | None = None
    onset: int | None = None
    offset: int | None = None
    line: int = 0
    fields: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    def submission(self, answer: str) -> dict[str, str]:
        """The submission row answering this question."""
        return {"video_id": self.qid, "video": self.clip, "question": self.question, "answer": answer}


@dataclass
class QAFile:
    """A parsed MEGC file: its layout (one of :data:`FORMATS`) and rows in file order."""

    path: Path
    format: str
    rows: list[QARow]

    def clips(self) -> dict[str, list[QARow]]:
        """Rows grouped by clip, clips in order of first appearance."""
        out: dict[str, list[QARow]] = {}
        for r in self.rows:
            out.setdefault(r.clip, []).append(r)
        return out


def dataset_of(fields: dict[str, Any]) -> str | None:
    """The dataset of a row (see the module docstring), or None when nothing names one."""
    name = str(fields.get("dataset") or "").strip().lower()
    if not name:
        m = _DATASET_PREFIX.match(str(fields.get("video_id") or fields.get("id") or ""))
        name = m.group(1).lower() if m else ""
    name = re.sub(r"_?test$", "", name)
    name = {"cas": "casme3", "casme": "casme3"}.get(name, name)
    if name == "samm" and fields.get("subject") is not None and not str(fields["subject"]).strip().isdigit():
        name = "casme3"
    return name or None


def _text(obj: dict, key: str, where: str, required: bool = True) -> str:
    value = obj.get(key)
    if value is None:
        if required:
            raise InvalidInputError(f"{where}: field {key!r} missing")
        return ""
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise InvalidInputError(f"{where}: field {key!r} must be text, got {type(value).__name__}")
    return str(value)


def _frame(obj: dict, key: str, where: str) -> int | None:
    value = obj.get(key)
    if value is None or value == "":
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise InvalidInputError(f"{where}: field {key!r} must be a frame number, got {value!r}") from None
    if not number.is_integer() or number < 0:
        raise InvalidInputError(f"{where}: field {key!r} must be a whole frame number >= 0, got {value!r}")
    return int(number)


def parse_row(obj: Any, source: str, line: int) -> QARow:
    """One JSON object -> :class:`QARow`; ``source`` and ``line`` name it in errors."""
    where = f"{source}:{line}"
    if not isinstance(obj, dict):
        raise InvalidInputError(f"{where}: expected a JSON object, got {type(obj).__name__}")
    if "video_id" in obj:
        qid = _text(obj, "video_id", where)
        clip = _text(obj, "video", where, required=False) or _text(obj, "image_id", where, required=False)
    elif "id" in obj:
        qid = _text(obj, "id", where)
        clip = _text(obj, "image_id", where, required=False) or _text(obj, "video", where, required=False)
    else:
        raise InvalidInputError(f"{where}: field 'video_id' (2026 files) or 'id' (2025 files) missing")
    if not clip:
        raise InvalidInputError(f"{where}: field 'video' (2026 files) or 'image_id' (2025 files) missing")
    subject = obj.get("subject")
    return QARow(
        qid=qid, clip=clip, question=_text(obj, "question", where), answer=_text(obj, "answer", where, required=False),
        dataset=dataset_of(obj), subject=None if subject is None else str(subject),
        filename=_text(obj, "filename", where, required=False) or None,
        onset=_frame(obj, "onset_frame", where), offset=_frame(obj, "offset_frame", where), line=line, fields=obj)


def read_jsonl(path: str | os.PathLike) -> list[tuple[int, Any]]:
    """(line number, parsed value) for each non-blank line; InvalidInputError names a bad line."""
    rows, _ = read_jsonl_resumable(path, torn_tail=False)
    return rows


def read_jsonl_resumable(path: str | os.PathLike, torn_tail: bool = True) -> tuple[list[tuple[int, Any]], int | None]:
    """Like :func:`read_jsonl`, and when ``torn_tail`` a last line cut short by a crash (no newline at
    its end, not valid JSON) is dropped: returns (rows, the dropped line's number or None)."""
    path = Path(path)
    if not path.is_file():
        raise InvalidInputError(f"{display(path)}: file not found")
    text = read_text(path, "JSONL file")
    lines = text.split("\n")
    out = []
    for n, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            out.append((n, json.loads(line)))
        except json.JSONDecodeError as exc:
            if torn_tail and n == len(lines):  # the last line has no newline: written in part
                return out, n
            raise InvalidInputError(f"{display(path)}:{n}: not valid JSON ({exc.msg})") from None
        except RecursionError:
            raise InvalidInputError(f"{display(path)}:{n}: JSON nested too deeply") from None
    return out, None


def detect_format(rows: list[QARow]) -> str:
    """The task of a file's rows: ME-LVQA when it asks about events in long videos; ME-VQA v2 when it
    asks for a detailed analysis; ME-VQA 2025 when it has the 2025 keys or the compound question;
    else ME-VQA v2 (the 2026 keys)."""
    from faceqa.qa.kinds import MEGC_LVQA_KINDS
    from faceqa.qa.questions import parse_question

    kinds = {parse_question(r.question).kind for r in rows}
    if kinds & MEGC_LVQA_KINDS:
        return FORMAT_LVQA_2026
    if "analysis" in kinds:
        return FORMAT_VQA_V2_2026
    if "compound" in kinds or (rows and "id" in rows[0].fields and "video_id" not in rows[0].fields):
        return FORMAT_VQA_2025
    return FORMAT_VQA_V2_2026


def read_qa_file(path: str | os.PathLike) -> QAFile:
    """Read any MEGC JSONL file (questions, gold answers or predictions)."""
    path = Path(path)
    rows = [parse_row(obj, str(path), n) for n, obj in read_jsonl(path)]
    if not rows:
        raise InvalidInputError(f"{path}: holds no rows")
    seen: dict[str, int] = {}
    for r in rows:
        if r.qid in seen:
            raise InvalidInputError(f"{path}:{r.line}: duplicate row key {r.qid!r} (first on line {seen[r.qid]})")
        seen[r.qid] = r.line
    return QAFile(path, detect_format(rows), rows)


def write_jsonl(path: str | os.PathLike, rows: Iterable[dict[str, Any]], append: bool = False) -> None:
    """Write rows as JSON lines (UTF-8, non-ASCII kept); ``append`` adds to the file."""
    path = Path(path)
    if not append:
        with atomic_output(path) as tmp, tmp.open("w", encoding="utf-8", errors="backslashreplace") as f:
            for r in rows:
                f.write(json.dumps(r, ensure_ascii=False) + "\n")
        return
    with path.open("a", encoding="utf-8", errors="backslashreplace") as f:
        for r in rows:
            f.write(json.dumps(r, ensure_ascii=False) + "\n")
        f.flush()


_AU_QUESTION = re.compile(r"^What (?:is|are) the action units?\?$")
_SIDE_QUESTION = re.compile(r"^Is the action unit (.+) located on the left or right face\?$")
_COMPOUND_ANSWER = re.compile(
    r"present (?:is|are): (.+?)\. Therefore, the fine-grained expression class is (\w+), "
    r"and the coarse expression class is (\w+)"
)


def _apply_answer(clip: LabelledExpression, question: str, answer: str) -> LabelledExpression:
    answer = answer.strip()
    if not answer:
        return clip
    if question == "What is the coarse expression class?":
        return replace(clip, coarse=normalise_coarse(answer))
    if question == "What is the fine-grained expression class?":
        return replace(clip, fine=normalise_fine(answer))
    if _AU_QUESTION.match(question):
        return replace(clip, aus=tuple(parse_au_names(answer)))
    if m := _SIDE_QUESTION.match(question):
        number = au_by_name(m.group(1)).number
        side = {"left": "L", "right": "R"}.get(answer.lower())
        aus = tuple(replace(a, side=side) if a.number == number and side else a for a in clip.aus)
        return replace(clip, aus=aus)
    if m := _COMPOUND_ANSWER.search(answer):
        aus = clip.aus or tuple(parse_au_names(m.group(1)))
        return replace(
            clip, aus=aus, fine=clip.fine or normalise_fine(m.group(2)),
            coarse=clip.coarse or normalise_coarse(m.group(3)),
        )
    return clip


def read_qa_labels(path: str | os.PathLike) -> list[LabelledExpression]:
    """An answered ME-VQA file (read by :func:`read_qa_file`) -> one record per (dataset, clip), in
    first-appearance order.

    The AU answer gives the AUs; a "left or right" answer sets that AU's side; the compound
    answer fills the AUs, fine and coarse classes where the single questions are missing.
    Yes/no presence questions and free-text analyses are not read; unanswered rows add nothing.
    """
    clips: dict[tuple[str, str], LabelledExpression] = {}
    side_rows: list[tuple[tuple[str, str], str, str]] = []
    for r in read_qa_file(path).rows:
        key = (r.dataset or "", r.clip)
        if key not in clips:
            clips[key] = LabelledExpression(dataset=key[0], subject=r.subject or "", clip=r.clip, aus=(),
                                            onset=r.onset, offset=r.offset)
        if _SIDE_QUESTION.match(r.question):
            side_rows.append((key, r.question, r.answer))
        else:
            clips[key] = _apply_answer(clips[key], r.question, r.answer)
    for key, question, answer in side_rows:
        clips[key] = _apply_answer(clips[key], question, answer)
    return list(clips.values())
