"""Readers for expert micro-expression labels: CAS(ME)^3 CSVs and MEGC ME-VQA question files.

Each reader returns :class:`LabelledExpression` records (AUs parsed, emotion labels in the MEGC
spelling), the common form the AU graph, the deduction model and its evaluation use.

- :func:`read_casme3_part_a`: ``casme3_partA_ME_labels_v2.csv`` (columns Subject, Filename,
  Onset, Apex, Offset, AU, Objective class, emotion) or ``casme3_partA_all_expressions_v2.csv``
  (Expression type instead of emotion);
- :func:`read_casme3_part_c`: ``casme3_partC_ME_labels.csv`` (sub, count, onset, offset, au,
  emotion, the emotion being coarse: positive / negative / surprise / others);
- :func:`read_megc_qa`: an ME-VQA JSONL file; rows are grouped by (dataset, image_id) and the
  clip's AUs, side answers, fine and coarse classes read from the answers (empty in test files).
"""

from __future__ import annotations

import csv
import json
import re
from dataclasses import dataclass, replace
from pathlib import Path

from faceqa.errors import InvalidInputError
from faceqa.evidence.au_codes import AUCode, parse_au_codes, parse_au_names
from faceqa.evidence.emotion_classes import coarse_of, normalise_coarse, normalise_fine
from faceqa.evidence.facs import au_by_name

CASME3_ME_CSV = "labels/casme3_official/casme3_partA_ME_labels_v2.csv"
CASME3_ALL_CSV = "labels/casme3_official/casme3_partA_all_expressions_v2.csv"
CASME3_PART_C_CSV = "labels/casme3_official/casme3_partC_ME_labels.csv"
MEGC2025_TRAIN_QA = "vqa/megc2025_mevqa/me_vqa_samm_casme2_smic.jsonl"
"""Paths of the label files inside the shared data folder (../shared/data)."""


@dataclass(frozen=True)
class LabelledExpression:
    """One annotated expression event or clip.

    Attributes:
        dataset: ``casme3_a``, ``casme3_c``, or the JSONL ``dataset`` field (``samm``, ``smic``).
        subject: subject id as the source writes it.
        clip: the clip or video name (with the event number for CAS(ME)^3 part C).
        aus: the AUs in written order (empty when the source gives none).
        fine: fine class in MEGC spelling, or None when not labelled.
        coarse: coarse class, or None (not labelled, or ``others``).
        onset, apex, offset: frames, where the source gives them (a few CAS(ME)^3 cells are
            written ``2647.0``; they are read as whole frames).
        expression_type: ``"micro"`` / ``"macro"`` where the source says.
    """

    dataset: str
    subject: str
    clip: str
    aus: tuple[AUCode, ...]
    fine: str | None = None
    coarse: str | None = None
    onset: int | None = None
    apex: int | None = None
    offset: int | None = None
    expression_type: str | None = None


def _frame(value: str, path: Path) -> int:
    """A frame number; the spreadsheets write a few as ``2647.0``."""
    number = float(value)
    if not number.is_integer():
        raise InvalidInputError(f"{path}: frame number {value!r} is not a whole number")
    return int(number)


def _rows(path: Path) -> list[dict[str, str]]:
    path = Path(path)
    if not path.is_file():
        raise InvalidInputError(f"{path}: annotation file not found")
    with path.open(encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


def read_casme3_part_a(path: Path) -> list[LabelledExpression]:
    """CAS(ME)^3 part A events (ME labels file or all-expressions file), in file order."""
    out = []
    for row in _rows(path):
        fine = normalise_fine(row["emotion"]) if row.get("emotion") else None
        kind = row.get("Expression type")
        out.append(
            LabelledExpression(
                dataset="casme3_a",
                subject=row["Subject"],
                clip=row["Filename"],
                aus=tuple(parse_au_codes(row["AU"])),
                fine=fine,
                coarse=coarse_of(fine) if fine else None,
                onset=_frame(row["Onset"], path),
                apex=_frame(row["Apex"], path),
                offset=_frame(row["Offset"], path),
                expression_type=("micro" if kind.startswith("Micro") else "macro") if kind else "micro",
            )
        )
    return out


def read_casme3_part_c(path: Path) -> list[LabelledExpression]:
    """CAS(ME)^3 part C micro-expressions (coarse emotion only), in file order."""
    return [
        LabelledExpression(
            dataset="casme3_c",
            subject=row["sub"],
            clip=f"{row['sub']}_{row['count']}",
            aus=tuple(parse_au_codes(row["au"])),
            coarse=normalise_coarse(row["emotion"]),
            onset=_frame(row["onset"], path),
            offset=_frame(row["offset"], path),
            expression_type="micro",
        )
        for row in _rows(path)
    ]


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


def read_megc_qa(path: Path) -> list[LabelledExpression]:
    """MEGC ME-VQA JSONL -> one record per (dataset, image_id), in first-appearance order.

    The AU answer gives the AUs; a "left or right" answer sets that AU's side; the compound
    answer fills the AUs, fine and coarse classes where the single questions are missing.
    Yes/no presence questions and free-text analyses are not read.
    """
    path = Path(path)
    if not path.is_file():
        raise InvalidInputError(f"{path}: MEGC question file not found")
    clips: dict[tuple[str, str], LabelledExpression] = {}
    side_rows: list[tuple[tuple[str, str], str, str]] = []
    with path.open(encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
                key = (str(row["dataset"]), str(row["image_id"]))
                question, answer = row["question"], row.get("answer", "")
            except (json.JSONDecodeError, KeyError) as e:
                raise InvalidInputError(f"{path}:{n}: not an ME-VQA row ({e})") from None
            if key not in clips:
                onset, offset = row.get("onset_frame"), row.get("offset_frame")
                clips[key] = LabelledExpression(
                    dataset=key[0], subject=str(row.get("subject", "")), clip=key[1], aus=(),
                    onset=None if onset is None else int(onset), offset=None if offset is None else int(offset),
                )
            if _SIDE_QUESTION.match(question):
                side_rows.append((key, question, answer))
            else:
                clips[key] = _apply_answer(clips[key], question, answer)
    for key, question, answer in side_rows:
        clips[key] = _apply_answer(clips[key], question, answer)
    return list(clips.values())
