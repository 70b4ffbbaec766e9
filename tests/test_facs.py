"""The AU table and the AU code / name parser, on hand cases and on every real annotation row."""

from __future__ import annotations

import csv
import json
import re
from pathlib import Path

import pytest

from faceqa.errors import InvalidInputError
from faceqa.facs.annotations import CASME3_ALL_CSV, CASME3_ME_CSV, CASME3_PART_C_CSV
from faceqa.facs.au_codes import (
    AUCode,
    au_numbers,
    format_au_codes,
    format_au_names,
    parse_au_codes,
    parse_au_names,
    parse_aus,
)
from faceqa.facs.units import action_units, au_by_name, au_by_number, is_au_name
from faceqa.megc.io import MEGC2025_TRAIN_QA


def test_table_is_ordered_and_unique():
    numbers = [au.number for au in action_units()]
    assert numbers == sorted(set(numbers))
    names = [au.name for au in action_units()]
    assert len(names) == len(set(names))


@pytest.mark.parametrize(
    ("number", "name", "region"),
    [
        (1, "inner brow raiser", "brows"),
        (4, "brow lowerer", "brows"),
        (7, "lid tightener", "eyes"),
        (12, "lip corner puller", "mouth"),
        (17, "chin raiser", "chin"),
        (38, "nostril dilater", "nose"),
        (43, "eye closure", "eyes"),
        (56, "tilt right", "head"),
        (61, "eyes left", "gaze"),
    ],
)
def test_lookup_by_number(number, name, region):
    au = au_by_number(number)
    assert (au.name, au.region, au.code) == (name, region, f"AU{number}")


def test_lookup_by_name_is_tolerant():
    assert au_by_name("Lip Corner Puller").number == 12
    assert au_by_name("  lip-corner   puller ").number == 12
    assert au_by_name("nostril dilator").number == 38  # FACS spelling
    assert au_by_name("nostril dilater").number == 38  # MEGC spelling
    assert au_by_name("eyes closed").number == 43
    assert au_by_name("head tilt right").number == 56
    assert is_au_name("dimpler") and not is_au_name("smile")


def test_laterality_flags():
    assert au_by_number(12).lateralisable and au_by_number(14).lateralisable
    assert not au_by_number(17).lateralisable and not au_by_number(25).lateralisable


@pytest.mark.parametrize("bad", [3, 40, 99, "x"])
def test_unknown_number_raises(bad):
    with pytest.raises(InvalidInputError, match=re.escape(repr(bad))):
        au_by_number(bad)


def test_unknown_name_raises():
    with pytest.raises(InvalidInputError, match="'smile'"):
        au_by_name("smile")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("4+15+R10", [AUCode(4), AUCode(15), AUCode(10, side="R")]),
        ("L12", [AUCode(12, side="L")]),
        ("12C", [AUCode(12, intensity="C")]),
        ("R14A", [AUCode(14, side="R", intensity="A")]),
        ("4+7B", [AUCode(4), AUCode(7, intensity="B")]),
        ("T28+B22", [AUCode(28, lip="T"), AUCode(22, lip="B")]),
        ("r18", [AUCode(18, side="R")]),
        ("13?", [AUCode(13)]),
        ("4，11", [AUCode(4), AUCode(11)]),
        ("R4,5,", [AUCode(4, side="R"), AUCode(5)]),
        ("AU1 AU2", [AUCode(1), AUCode(2)]),
        ("", []),
    ],
)
def test_parse_codes(text, expected):
    assert parse_au_codes(text) == expected
    assert parse_aus(text) == expected


def test_codes_round_trip():
    codes = parse_au_codes("4+R10+12C+L14A+T28")
    assert format_au_codes(codes) == "4+R10+12C+L14A+T28"
    assert parse_au_codes(format_au_codes(codes)) == codes
    assert str(AUCode(14, side="R", intensity="A")) == "R14A"


def test_parse_names():
    assert parse_au_names("lip corner puller, brow lowerer") == [AUCode(12), AUCode(4)]
    assert parse_aus("nose wrinkler and upper lip raiser") == [AUCode(9), AUCode(10)]
    assert parse_aus("left dimpler, lip corner puller (right)") == [AUCode(14, side="L"), AUCode(12, side="R")]
    assert parse_aus("AU9, lid tightener") == [AUCode(9), AUCode(7)]


def test_format_names():
    codes = parse_au_codes("L1+R1+L12+4")
    assert format_au_names(codes) == "inner brow raiser, lip corner puller, brow lowerer"
    assert format_au_names(codes, sides=True) == "inner brow raiser, left lip corner puller, brow lowerer"
    assert parse_au_names(format_au_names(codes)) == [AUCode(1), AUCode(12), AUCode(4)]
    assert au_numbers(codes) == (1, 4, 12)


@pytest.mark.parametrize("bad", ["12.5", "3", "X12", "12F", "R"])
def test_unknown_code_raises_naming_it(bad):
    with pytest.raises(InvalidInputError, match=re.escape(repr(bad))):
        parse_au_codes(f"4+{bad}")


def test_unknown_name_in_list_raises_naming_it():
    with pytest.raises(InvalidInputError, match="'lip smacker'"):
        parse_aus("brow lowerer, lip smacker")


def test_inconsistent_code_rejected():
    with pytest.raises(InvalidInputError, match="number 3"):
        AUCode(3)
    with pytest.raises(InvalidInputError, match="side"):
        AUCode(12, side="X")  # type: ignore[arg-type]


def _csv_codes(path: Path, column: str) -> list[str]:
    with path.open(encoding="utf-8", newline="") as f:
        return [row[column] for row in csv.DictReader(f)]


@pytest.mark.realdata
@pytest.mark.parametrize(
    ("rel", "column", "rows"),
    [(CASME3_ME_CSV, "AU", 860), (CASME3_ALL_CSV, "AU", 4206), (CASME3_PART_C_CSV, "au", 165)],
)
def test_every_casme3_row_parses(shared_data, rel, column, rows):
    texts = _csv_codes(shared_data / rel, column)
    assert len(texts) == rows
    for text in texts:
        codes = parse_au_codes(text)
        assert codes, text
        assert parse_au_codes(format_au_codes(codes)) == codes


@pytest.mark.realdata
def test_table_covers_every_au_in_the_data(shared_data):
    numbers: set[int] = set()
    for rel, column in [(CASME3_ME_CSV, "AU"), (CASME3_ALL_CSV, "AU"), (CASME3_PART_C_CSV, "au")]:
        for text in _csv_codes(shared_data / rel, column):
            numbers |= set(au_numbers(parse_au_codes(text)))
    assert numbers <= {au.number for au in action_units()}
    names: set[str] = set()
    for path in sorted((shared_data / "vqa").rglob("*.jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines():
            m = re.match(r"Is the action unit (.+) (?:shown on|located on)", json.loads(line)["question"])
            if m:
                names.add(m.group(1))
    with (shared_data / MEGC2025_TRAIN_QA).open(encoding="utf-8") as f:
        for row in map(json.loads, f):
            if re.match(r"What (is|are) the action units?\?", row["question"]):
                names |= {n.strip() for n in row["answer"].split(",")}
    assert len(names) >= 29
    for name in names:
        assert au_by_name(name).name == name  # the table writes each MEGC name exactly as MEGC does
