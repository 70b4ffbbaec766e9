"""Expert micro-expression labels: the :class:`LabelledExpression` record and the CAS(ME)^3 CSV readers.

Each reader returns :class:`LabelledExpression` records (AUs parsed, emotion labels in the MEGC
spelling), the common form the AU graph, the deduction model and its evaluation use. The MEGC
ME-VQA files are read by :func:`faceqa.megc.io.read_qa_labels` into the same records.

- :func:`read_casme3_part_a`: ``casme3_partA_ME_labels_v2.csv`` (columns Subject, Filename,
  Onset, Apex, Offset, AU, Objective class, emotion) or ``casme3_partA_all_expressions_v2.csv``
  (Expression type instead of emotion);
- :func:`read_casme3_part_c`: ``casme3_partC_ME_labels.csv`` (sub, count, onset, offset, au,
  emotion, the emotion being coarse: positive / negative / surprise / others).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from faceqa.errors import InvalidInputError
from faceqa.facs.au_codes import AUCode, parse_au_codes
from faceqa.facs.emotion_classes import coarse_of, normalise_coarse, normalise_fine
from faceqa.safeio import read_csv

CASME3_ME_CSV = "labels/casme3_official/casme3_partA_ME_labels_v2.csv"
CASME3_ALL_CSV = "labels/casme3_official/casme3_partA_all_expressions_v2.csv"
CASME3_PART_C_CSV = "labels/casme3_official/casme3_partC_ME_labels.csv"
"""Paths of the label files inside the shared data folder (../shared/data)."""


@dataclass(frozen=True)
class LabelledExpression:
    """One annotated expression event or clip.

    Attributes:
        dataset: ``casme3_a``, ``casme3_c``, or an MEGC file's dataset (``samm``, ``smic``; see
            :func:`faceqa.megc.io.dataset_of`).
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
    return read_csv(path, "annotation file")[1]


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
