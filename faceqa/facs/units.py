"""The FACS action-unit table: number, name as the MEGC answers write it, face region, laterality.

Names follow the MEGC 2025/2026 ME-VQA answers where those write the AU ("brow lowerer",
"lid tightener", "eye closure", "nostril dilater", "tilt right", "eyes left"); every other AU has
its FACS 2002 name. Each entry also lists aliases (the FACS manual spelling where the MEGC one
differs, older FACS names), so :func:`au_by_name` reads either.

Regions: ``brows``, ``eyes`` (lids), ``cheeks``, ``nose``, ``mouth`` (lips, lip corners,
tongue), ``chin``, ``jaw``, ``neck``, ``head`` (head position) and ``gaze`` (eye position).

``lateralisable`` says whether FACS scores the AU on one side of the face (prefix ``L``/``R``);
the code parser accepts a side on any AU, since annotators sometimes write one (CAS(ME)^3
part C has ``R45``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Literal

from faceqa.errors import InvalidInputError

Region = Literal["brows", "eyes", "cheeks", "nose", "mouth", "chin", "jaw", "neck", "head", "gaze"]


@dataclass(frozen=True)
class ActionUnit:
    """One FACS action unit.

    Attributes:
        number: the FACS number (1 for AU1).
        name: the name as the MEGC answers write it, lower case.
        region: the face region it moves.
        lateralisable: FACS may score it on one side only (``L``/``R`` prefix).
        aliases: other accepted names (FACS manual spelling, older names), lower case.
    """

    number: int
    name: str
    region: Region
    lateralisable: bool
    aliases: tuple[str, ...] = field(default=())

    @property
    def code(self) -> str:
        """The short code, ``AU12``."""
        return f"AU{self.number}"


_TABLE: tuple[ActionUnit, ...] = (
    ActionUnit(1, "inner brow raiser", "brows", True),
    ActionUnit(2, "outer brow raiser", "brows", True),
    ActionUnit(4, "brow lowerer", "brows", True),
    ActionUnit(5, "upper lid raiser", "eyes", True),
    ActionUnit(6, "cheek raiser", "cheeks", True, ("cheek raiser and lid compressor",)),
    ActionUnit(7, "lid tightener", "eyes", True),
    ActionUnit(8, "lips toward each other", "mouth", False),
    ActionUnit(9, "nose wrinkler", "nose", True),
    ActionUnit(10, "upper lip raiser", "mouth", True),
    ActionUnit(11, "nasolabial deepener", "cheeks", True, ("nasolabial furrow deepener",)),
    ActionUnit(12, "lip corner puller", "mouth", True),
    ActionUnit(13, "sharp lip puller", "cheeks", True, ("cheek puffer",)),
    ActionUnit(14, "dimpler", "mouth", True),
    ActionUnit(15, "lip corner depressor", "mouth", True),
    ActionUnit(16, "lower lip depressor", "mouth", True),
    ActionUnit(17, "chin raiser", "chin", False),
    ActionUnit(18, "lip pucker", "mouth", True, ("lip puckerer",)),
    ActionUnit(19, "tongue show", "mouth", False),
    ActionUnit(20, "lip stretcher", "mouth", True),
    ActionUnit(21, "neck tightener", "neck", True),
    ActionUnit(22, "lip funneler", "mouth", False),
    ActionUnit(23, "lip tightener", "mouth", False),
    ActionUnit(24, "lip pressor", "mouth", True),
    ActionUnit(25, "lips part", "mouth", False),
    ActionUnit(26, "jaw drop", "jaw", False),
    ActionUnit(27, "mouth stretch", "jaw", False),
    ActionUnit(28, "lip suck", "mouth", False),
    ActionUnit(29, "jaw thrust", "jaw", False),
    ActionUnit(30, "jaw sideways", "jaw", True),
    ActionUnit(31, "jaw clencher", "jaw", False),
    ActionUnit(32, "lip bite", "mouth", True),
    ActionUnit(33, "cheek blow", "cheeks", True),
    ActionUnit(34, "cheek puff", "cheeks", True),
    ActionUnit(35, "cheek suck", "cheeks", True),
    ActionUnit(36, "tongue bulge", "mouth", True),
    ActionUnit(37, "lip wipe", "mouth", False),
    ActionUnit(38, "nostril dilater", "nose", False, ("nostril dilator",)),
    ActionUnit(39, "nostril compress", "nose", False, ("nostril compressor",)),
    ActionUnit(41, "lid droop", "eyes", True),
    ActionUnit(42, "slit", "eyes", True),
    ActionUnit(43, "eye closure", "eyes", True, ("eyes closed", "eye closed")),
    ActionUnit(44, "squint", "eyes", True),
    ActionUnit(45, "blink", "eyes", False),
    ActionUnit(46, "wink", "eyes", True),
    ActionUnit(51, "head turn left", "head", False, ("turn left",)),
    ActionUnit(52, "head turn right", "head", False, ("turn right",)),
    ActionUnit(53, "head up", "head", False),
    ActionUnit(54, "head down", "head", False),
    ActionUnit(55, "tilt left", "head", False, ("head tilt left",)),
    ActionUnit(56, "tilt right", "head", False, ("head tilt right",)),
    ActionUnit(57, "head forward", "head", False),
    ActionUnit(58, "head back", "head", False),
    ActionUnit(61, "eyes left", "gaze", False, ("eyes turn left",)),
    ActionUnit(62, "eyes right", "gaze", False, ("eyes turn right",)),
    ActionUnit(63, "eyes up", "gaze", False),
    ActionUnit(64, "eyes down", "gaze", False),
)

_BY_NUMBER: dict[int, ActionUnit] = {au.number: au for au in _TABLE}


def normalise_name(name: str) -> str:
    """Lower case, hyphens and underscores as spaces, single spaces: the key names are compared by."""
    return re.sub(r"\s+", " ", re.sub(r"[-_]", " ", name.strip().lower()))


_BY_NAME: dict[str, ActionUnit] = {
    normalise_name(n): au for au in _TABLE for n in (au.name, *au.aliases)
}


def action_units() -> tuple[ActionUnit, ...]:
    """Every AU in the table, in FACS number order."""
    return _TABLE


def au_by_number(number: int) -> ActionUnit:
    """The AU with this FACS number; InvalidInputError if FACS has none."""
    try:
        return _BY_NUMBER[int(number)]
    except (KeyError, ValueError, TypeError):
        raise InvalidInputError(f"unknown action unit number {number!r}: not a FACS AU") from None


def au_by_name(name: str) -> ActionUnit:
    """The AU with this name or alias, case-insensitive ("Lip Corner Puller", "nostril dilator")."""
    au = _BY_NAME.get(normalise_name(name))
    if au is None:
        raise InvalidInputError(f"unknown action unit name {name!r}: not a FACS AU name the table knows")
    return au


def is_au_name(name: str) -> bool:
    """True when :func:`au_by_name` knows this name."""
    return normalise_name(name) in _BY_NAME
