"""Training clips and their question/answer pairs, in the exact wording of the MEGC training QA.

Clips come from the MEGC 2025 ME-VQA training file (SAMM, SMIC) and the CAS(ME)^3 part A
micro-expression annotations. Each clip yields the MEGC question types its labels can answer:
coarse class, fine class, the AU list (singular/plural wording as MEGC writes it), yes/no
presence of an AU (a present and an absent one), left-or-right side of a lateral AU, and the
compound AU-then-emotion sentence.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from faceqa.facs.annotations import CASME3_ME_CSV, LabelledExpression, read_casme3_part_a
from faceqa.facs.au_codes import AUCode, format_au_names
from faceqa.facs.units import au_by_number
from faceqa.megc.io import MEGC2025_TRAIN_QA, read_qa_labels
from faceqa.qa.questions import FINE_QUESTION, PRESENCE_CANDIDATES

Q_COARSE = "What is the coarse expression class?"
Q_FINE = FINE_QUESTION
Q_AUS = ("What is the action unit?", "What are the action units?")
Q_PRESENT = "Is the action unit {au} shown on the face?"
Q_SIDE = "Is the action unit {au} located on the left or right face?"
Q_COMPOUND = ("What is the action unit present, and based on it, what is the fine-grained expression and the "
              "coarse expression class?",
              "What are the action units present, and based on them, what is the fine-grained expression and the "
              "coarse expression class?")
A_COMPOUND = ("The action unit present is: {aus}. Therefore, the fine-grained expression class is {fine}, and the "
              "coarse expression class is {coarse}.",
              "The action units present are: {aus}. Therefore, the fine-grained expression class is {fine}, and the "
              "coarse expression class is {coarse}.")


@dataclass(frozen=True)
class QAExample:
    """One training example: a clip's labels and one question with its answer."""

    clip: LabelledExpression
    question: str
    answer: str
    kind: str  # coarse | fine | aus | present | side | compound
    about_au: int | None = None  # the AU a presence/side question names


def load_clips(data_root: str | Path, sources: tuple[str, ...] = ("megc2025", "casme3"),
               qa_files: tuple[str | Path, ...] = ()) -> list[LabelledExpression]:
    """Labelled clips: from the shared data folder (``megc2025``: SAMM + SMIC QA; ``casme3``: part A
    MEs) and from any further ME-VQA training files in MEGC's JSONL format (``qa_files``)."""
    root = Path(data_root)
    clips: list[LabelledExpression] = []
    for path in qa_files:
        clips += read_qa_labels(path)
    if "megc2025" in sources:
        clips += read_qa_labels(root / MEGC2025_TRAIN_QA)
    if "casme3" in sources:
        clips += [c for c in read_casme3_part_a(root / CASME3_ME_CSV) if c.fine and c.fine != "others"]
    return clips


def casme3_others(data_root: str | Path) -> list[LabelledExpression]:
    """The CAS(ME)^3 part A micro-expressions labelled ``others`` (no coarse class), which
    :func:`load_clips` leaves out."""
    return [c for c in read_casme3_part_a(Path(data_root) / CASME3_ME_CSV) if c.fine == "others"]


def _names(aus: tuple[AUCode, ...]) -> str:
    return format_au_names(aus)


def qa_examples(clip: LabelledExpression, rng: np.random.Generator,
                candidates: tuple[int, ...] = PRESENCE_CANDIDATES) -> list[QAExample]:
    """The MEGC questions ``clip``'s labels answer, with answers in MEGC wording."""
    out = []
    if clip.coarse:
        out.append(QAExample(clip, Q_COARSE, clip.coarse, "coarse"))
    if clip.fine:
        out.append(QAExample(clip, Q_FINE, clip.fine, "fine"))
    aus = tuple(dict.fromkeys(clip.aus))
    if aus:
        plural = int(len({a.number for a in aus}) > 1)
        out.append(QAExample(clip, Q_AUS[plural], _names(aus), "aus"))
        present = aus[int(rng.integers(len(aus)))].number
        out.append(QAExample(clip, Q_PRESENT.format(au=au_by_number(present).name), "yes", "present", present))
        absent = [c for c in candidates if c not in {a.number for a in aus}]
        if absent:
            a = int(rng.choice(absent))
            out.append(QAExample(clip, Q_PRESENT.format(au=au_by_number(a).name), "no", "present", a))
        sided = [a for a in aus if a.side in ("L", "R")]
        if sided:
            s = sided[int(rng.integers(len(sided)))]
            out.append(QAExample(clip, Q_SIDE.format(au=au_by_number(s.number).name),
                                 "left" if s.side == "L" else "right", "side", s.number))
        if clip.fine and clip.coarse:
            out.append(QAExample(clip, Q_COMPOUND[plural],
                                 A_COMPOUND[plural].format(aus=_names(aus), fine=clip.fine, coarse=clip.coarse),
                                 "compound"))
    return out


def subject_key(clip: LabelledExpression) -> str:
    """The subject a clip belongs to, unique across datasets (for subject-wise splits)."""
    return f"{clip.dataset.split('_')[0]}:{clip.subject}"


def split_by_subject(clips: list[LabelledExpression], holdout: float, seed: int
                     ) -> tuple[list[LabelledExpression], list[LabelledExpression]]:
    """(train, held-out) with ``holdout`` of each dataset's subjects held out entirely."""
    rng = np.random.default_rng(seed)
    held: set[str] = set()
    for ds in sorted({c.dataset for c in clips}):
        subjects = sorted({subject_key(c) for c in clips if c.dataset == ds})
        k = max(1, int(round(holdout * len(subjects)))) if len(subjects) > 1 else 0
        held |= set(rng.choice(subjects, size=k, replace=False).tolist()) if k else set()
    return [c for c in clips if subject_key(c) not in held], [c for c in clips if subject_key(c) in held]
