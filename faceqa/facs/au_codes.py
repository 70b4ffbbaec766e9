"""Parse and write the datasets' AU codes and the MEGC AU names.

Codes (CAS(ME)^3, SAMM, FACS notation), one per AU, joined by ``+``, commas (ASCII or the
full-width ``，``), semicolons or spaces::

    4+15+R10    L12    R14A    4+7B    T28    AU12    "R4,5,"

A code is ``[AU][prefix]number[intensity][?]``, case-insensitive:

- prefix ``L`` / ``R``: the AU on the left / right side of the face only (FACS unilateral);
- prefix ``T`` / ``B``: for lip AUs, the top / bottom lip only (CAS(ME)^3 writes ``T18``,
  ``B28``, ``T24``); kept in :attr:`AUCode.lip`;
- intensity ``A``..``E`` after the number (SAMM, FACS): trace .. maximum;
- a trailing ``?`` is an annotator's doubt (CAS(ME)^3 part C: ``13?``): the mark is dropped and
  the AU kept, since the annotator scored it as the likelier reading.

Empty items (the trailing commas of CAS(ME)^3 part C, ``"14,L24,"``) are skipped. Nothing else in
the CAS(ME)^3 CSVs needs special care; every other token there is a plain, L/R- or T/B-prefixed
number (``r18`` in lower case is read as ``R18``).

Names (the MEGC answers): ``"lip corner puller, brow lowerer"``, separated by commas,
semicolons or "and"; a name may carry a side as ``"left lip corner puller"``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

from faceqa.errors import InvalidInputError
from faceqa.facs.units import ActionUnit, au_by_name, au_by_number

Side = Literal["L", "R"]
Intensity = Literal["A", "B", "C", "D", "E"]
LipPart = Literal["T", "B"]

_CODE = re.compile(r"^(?:AU)?([LRTB])?(\d{1,2})([A-E])?\??$", re.IGNORECASE)
_CODE_SEPARATORS = re.compile(r"[+,，;\s]+")
_NAME_SEPARATORS = re.compile(r"\s*(?:[,，;+]|\band\b)\s*", re.IGNORECASE)
_SIDE_WORDS = {"left": "L", "right": "R"}
_SIDE_PREFIX = re.compile(r"^(left|right)\s+(.+)$", re.IGNORECASE)
_SIDE_SUFFIX = re.compile(r"^(.+?)\s*\((left|right)\)$", re.IGNORECASE)


@dataclass(frozen=True, order=True)
class AUCode:
    """One scored AU.

    Attributes:
        number: FACS number (12 for AU12).
        side: ``"L"`` or ``"R"`` for a unilateral AU, None for both sides or unspecified.
        intensity: FACS intensity ``"A"`` (trace) .. ``"E"`` (maximum), or None.
        lip: ``"T"`` (top lip only) or ``"B"`` (bottom lip only) for lip AUs, or None.
    """

    number: int
    side: Side | None = None
    intensity: Intensity | None = None
    lip: LipPart | None = None

    def __post_init__(self) -> None:
        au_by_number(self.number)
        if self.side not in (None, "L", "R"):
            raise InvalidInputError(f"AU{self.number}: side {self.side!r} is not 'L', 'R' or None")
        if self.intensity not in (None, "A", "B", "C", "D", "E"):
            raise InvalidInputError(f"AU{self.number}: intensity {self.intensity!r} is not one of A..E")
        if self.lip not in (None, "T", "B"):
            raise InvalidInputError(f"AU{self.number}: lip part {self.lip!r} is not 'T', 'B' or None")
        if self.side is not None and self.lip is not None:
            raise InvalidInputError(f"AU{self.number}: a code has either a side or a lip part, not both")

    @property
    def au(self) -> ActionUnit:
        """The FACS table entry."""
        return au_by_number(self.number)

    @property
    def name(self) -> str:
        """The AU's name as MEGC writes it ("lip corner puller")."""
        return self.au.name

    @property
    def code(self) -> str:
        """The FACS-style code: ``R14A``, ``T28``, ``4``."""
        prefix = self.side or self.lip or ""
        return f"{prefix}{self.number}{self.intensity or ''}"

    def __str__(self) -> str:
        return self.code


def parse_au_code(token: str) -> AUCode:
    """One code (``R10``, ``12C``, ``T28``, ``AU4``, ``13?``) -> AUCode; InvalidInputError if unknown."""
    m = _CODE.match(token.strip())
    if m is None:
        raise InvalidInputError(f"unknown AU code {token!r}: expected [L|R|T|B]<number>[A-E], e.g. R10 or 12C")
    prefix, number, intensity = (g.upper() if g else None for g in m.groups())
    try:
        au_by_number(int(number))
    except InvalidInputError:
        raise InvalidInputError(f"unknown AU code {token!r}: AU{int(number)} is not a FACS action unit") from None
    side = prefix if prefix in ("L", "R") else None
    lip = prefix if prefix in ("T", "B") else None
    return AUCode(int(number), side=side, intensity=intensity, lip=lip)


def parse_au_codes(text: str) -> list[AUCode]:
    """A code list (``4+15+R10``, ``"R4,5"``, ``4+7B``) -> AUCodes in written order; "" -> []."""
    return [parse_au_code(t) for t in _CODE_SEPARATORS.split(text.strip()) if t]


def _parse_name_item(item: str) -> AUCode:
    side = None
    m = _SIDE_PREFIX.match(item) or _SIDE_SUFFIX.match(item)
    if m is not None:
        first, second = m.groups()
        word, item = (first, second) if first.lower() in _SIDE_WORDS else (second, first)
        side = _SIDE_WORDS[word.lower()]
    if _CODE.match(item.strip()):
        code = parse_au_code(item)
        return AUCode(code.number, side=side or code.side, intensity=code.intensity, lip=code.lip)
    try:
        return AUCode(au_by_name(item).number, side=side)
    except InvalidInputError:
        raise InvalidInputError(f"unknown AU name {item!r}: not a FACS AU name the table knows") from None


def parse_au_names(text: str) -> list[AUCode]:
    """MEGC names (``"lip corner puller, brow lowerer"``, ``"left dimpler"``) -> AUCodes; "" -> [].

    An item that is a code (``AU12``) is read as a code, so mixed lists parse too.
    """
    items = [s.strip().rstrip(".") for s in _NAME_SEPARATORS.split(text.strip())]
    return [_parse_name_item(s) for s in items if s]


def parse_aus(text: str) -> list[AUCode]:
    """Codes or names, whichever the text holds: a run of 3+ letters means names."""
    letters = re.sub(r"\bau\s*(?=\d)", "", text, flags=re.IGNORECASE)
    if re.search(r"[a-z]{3,}", letters, re.IGNORECASE):
        return parse_au_names(text)
    return parse_au_codes(text)


def format_au_codes(codes: Iterable[AUCode], sep: str = "+") -> str:
    """AUCodes -> ``4+R10`` (written order kept)."""
    return sep.join(c.code for c in codes)


def format_au_names(codes: Iterable[AUCode], sides: bool = False) -> str:
    """AUCodes -> the MEGC answer form ``"brow lowerer, lid tightener"``.

    Written order is kept and repeats dropped (``L1+R1`` names inner brow raiser once). With
    ``sides=True`` a unilateral AU reads ``"left lip corner puller"``; an AU scored on both sides
    reads without a side.
    """
    codes = list(codes)
    sides_of: dict[int, set[str | None]] = {}
    for c in codes:
        sides_of.setdefault(c.number, set()).add(c.side)
    names: list[str] = []
    for c in codes:
        name = c.name
        if sides:
            s = sides_of[c.number]
            if len(s) == 1 and (only := next(iter(s))) is not None:
                name = f"{'left' if only == 'L' else 'right'} {name}"
        if name not in names:
            names.append(name)
    return ", ".join(names)


def au_numbers(codes: Iterable[AUCode]) -> tuple[int, ...]:
    """The distinct AU numbers, ascending (sides, intensities and lip parts merged)."""
    return tuple(sorted({c.number for c in codes}))
