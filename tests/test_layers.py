"""Packages import one way: the surfaces (tools, chat) never import the CLI; lower layers never import upper ones.
Each concern has one home: FACS knowledge in faceqa.facs, MEGC files and metrics in faceqa.megc."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

# module imported -> package prefixes it must not pull in
RULES = {
    "faceqa.tools": ["faceqa.cli"],
    "faceqa.tools.mcp_server": ["faceqa.cli"],
    "faceqa.chat": ["faceqa.cli"],
    "faceqa.qa": ["faceqa.cli", "faceqa.tools", "faceqa.chat"],
    "faceqa.perception": ["faceqa.cli", "faceqa.tools", "faceqa.chat", "faceqa.qa", "faceqa.evidence"],
    "faceqa.media": ["faceqa.perception", "faceqa.cli", "faceqa.qa"],
    "faceqa.facs": ["faceqa.evidence", "faceqa.megc", "faceqa.qa", "faceqa.perception", "faceqa.media",
                    "faceqa.aullm", "faceqa.cli"],
    "faceqa.evidence.extract": ["faceqa.megc", "faceqa.qa", "faceqa.aullm", "faceqa.cli", "faceqa.tools"],
}
PACKAGE = Path(__file__).resolve().parents[1] / "faceqa"


def _imported(module: str) -> list[str]:
    """The faceqa modules loaded by importing ``module`` in a fresh interpreter."""
    code = (f"import sys, json, {module}; "
            "print(json.dumps(sorted(m for m in sys.modules if m.startswith('faceqa'))))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120)
    return json.loads(out.stdout)


@pytest.mark.parametrize("module", sorted(RULES))
def test_imports_stay_in_their_layer(module):
    loaded = _imported(module)
    wrong = [m for m in loaded for banned in RULES[module] if m == banned or m.startswith(banned + ".")]
    assert not wrong, f"importing {module} loads {wrong}"


def _definitions() -> dict[str, list[str]]:
    """Top-level function and class names of every faceqa module -> the modules defining them."""
    out: dict[str, list[str]] = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        module = ".".join(path.relative_to(PACKAGE.parent).with_suffix("").parts)
        for node in ast.parse(path.read_text(encoding="utf-8")).body:
            if isinstance(node, ast.FunctionDef | ast.ClassDef):
                out.setdefault(node.name, []).append(module)
    return out


def test_facs_knowledge_lives_in_faceqa_facs():
    defs = _definitions()
    knowledge = ["ActionUnit", "au_by_name", "AUCode", "parse_au_codes", "format_au_names", "normalise_fine",
                 "coarse_of", "AURelationPrior", "load_au_relation_prior", "deduce", "fit_deduction_model",
                 "LabelledExpression", "read_casme3_part_a"]
    for name in knowledge:
        assert [m.rsplit(".", 1)[0] for m in defs[name]] == ["faceqa.facs"], (name, defs[name])
    evidence_modules = {p.stem for p in (PACKAGE / "evidence").glob("*.py")}
    assert not evidence_modules & {"facs", "au_codes", "emotion_classes", "au_graph", "deduction", "annotations",
                                   "spotting_metrics"}


def test_megc_files_and_metrics_live_in_faceqa_megc():
    defs = _definitions()
    for name in ["read_qa_file", "read_qa_labels", "spotting_scores", "recognition_scores", "strs_score",
                 "match_intervals"]:
        assert [m.rsplit(".", 1)[0] for m in defs[name]] == ["faceqa.megc"], (name, defs[name])
    readers = sorted(n for n in defs if n.startswith("read_") and ("qa" in n or "megc" in n))
    assert readers == ["read_qa_file", "read_qa_labels"], readers


def test_one_qa_reader(tmp_path):
    """The labels reader reads through read_qa_file, so it refuses what read_qa_file refuses."""
    from faceqa.errors import InvalidInputError
    from faceqa.megc.io import read_qa_labels

    row = {"id": "q1", "dataset": "samm", "image_id": "c1", "subject": "6", "question": "What is the coarse "
           "expression class?", "answer": "negative"}
    path = tmp_path / "dup.jsonl"
    path.write_text(json.dumps(row) + "\n" + json.dumps(row) + "\n", encoding="utf-8")
    with pytest.raises(InvalidInputError, match="duplicate row key"):
        read_qa_labels(path)
    path.write_text(json.dumps(row) + "\n", encoding="utf-8")
    [clip] = read_qa_labels(path)
    assert (clip.dataset, clip.clip, clip.coarse) == ("samm", "c1", "negative")


def _parse_question_kinds() -> set[str]:
    """Every kind parse_question can return: the literal kinds its Question(...) calls name."""
    tree = ast.parse((PACKAGE / "qa" / "questions.py").read_text(encoding="utf-8"))
    return {node.args[1].value for node in ast.walk(tree)
            if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "Question"
            and len(node.args) > 1 and isinstance(node.args[1], ast.Constant)}


def test_the_kind_table_covers_every_kind_and_each_user_reads_it():
    from faceqa.qa.composer import Composer
    from faceqa.qa.kinds import HEADLINE, KINDS, MEGC_LVQA_KINDS, MEGC_VQA_KINDS, SCORED_KINDS, TOOL_KINDS

    kinds = _parse_question_kinds()
    assert len(kinds) > 15 and kinds == set(KINDS)
    assert set(KINDS) == MEGC_VQA_KINDS | MEGC_LVQA_KINDS | TOOL_KINDS
    for spec in KINDS.values():
        assert callable(getattr(Composer, spec.handler, None)), spec
        assert spec.passes, spec
        assert (spec.metric is None) == (not spec.figures) and (spec.metric is None or spec.metric in spec.figures)
    assert set(HEADLINE) == set(SCORED_KINDS) and "analysis" not in HEADLINE
    # no module keeps its own list of kinds or of their figures
    for path in PACKAGE.rglob("*.py"):
        if path.name != "kinds.py":
            text = path.read_text(encoding="utf-8")
            assert '"au_side": "accuracy"' not in text and '"distinct_aus", "event_type")' not in text, path


def test_train_and_megc_score_a_kind_with_the_same_function():
    from faceqa.megc.evaluate import score_kind
    from faceqa.qa.kinds import HEADLINE, KINDS
    from faceqa.train.evaluate import kind_metrics

    cases = {"coarse": (["negative", "positive", "surprise"], ["Negative.", "negative", "surprise"]),
             "fine": (["happiness", "anger"], ["happy", "anger"]),
             "aus": (["brow lowerer, lid tightener"], ["AU4"]),
             "au_present": (["yes", "no"], ["Yes.", "yes"]),
             "au_side": (["left"], ["The left side."]),
             "compound": (["The action unit present is: brow lowerer. Therefore, the fine-grained expression class "
                           "is anger, and the coarse expression class is negative."] * 2,
                          ["The action units present are: brow lowerer, dimpler. Therefore, the fine-grained "
                           "expression class is disgust, and the coarse expression class is negative.", "anger"]),
             "count": (["3", "2"], ["three", "1"]),
             "distinct_aus": (["brow lowerer, dimpler"], ["dimpler"]),
             "event_type": (["micro-expression", "macro-expression"], ["micro-expression"] * 2)}
    assert set(cases) == set(HEADLINE)
    for kind, (gold, pred) in cases.items():
        megc = score_kind(kind, gold, pred)
        train = kind_metrics(kind, gold, pred)
        assert set(train) == {*KINDS[kind].figures, "n"}
        for figure in KINDS[kind].figures:
            assert train[figure] == pytest.approx(megc[figure], abs=1e-4), (kind, figure)
    assert kind_metrics("fine", ["happiness"], ["happy"])["uf1"] == 1.0  # read as the MEGC evaluation reads it


def _dict_literals_with(keys: set[str]) -> list[str]:
    """Modules (outside faceqa.synth) holding a dict literal with all of ``keys``."""
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        if "synth" in path.parts:
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Dict) and keys <= {k.value for k in node.keys if isinstance(k, ast.Constant)}:
                found.append(str(path.relative_to(PACKAGE.parent)))
    return found


def test_one_event_serialiser():
    import numpy as np

    from faceqa.evidence.spotting import ActiveAU, Event, events_dataframe
    from faceqa.facs.deduction import deduce

    assert _dict_literals_with({"onset", "apex_s"}) == ["faceqa/evidence/spotting.py"]
    e = Event(10, 12, 15, 0.3333, 0.4, np.float64(0.5), "micro", np.float32(2.25), [ActiveAU(12, "R", 0.45, 2.25)])
    d = e.to_dict(emotion=deduce([12]), digits=3)
    assert json.loads(json.dumps(d)) == d
    assert d["aus"] == [{"au": 12, "name": "lip corner puller", "side": "R", "score": 0.45, "intensity": 2.25,
                         "letter": e.aus[0].letter}]
    assert d["emotion"] == {"fine": "happiness", "coarse": "positive"} and d["duration_s"] == 0.167
    row = events_dataframe([e]).iloc[0]
    assert row["aus"] == "R12" and row["onset_s"] == 0.3333 and row["kind"] == "micro"


def test_eye_corners_are_defined_once():
    import re

    corners = re.compile(r"\(33, 133\)|\(362, 263\)|\(33, 263\)|\b33, 133, 362, 263\b")
    where = [str(p.relative_to(PACKAGE.parent)) for p in sorted(PACKAGE.rglob("*.py"))
             if "synth" not in p.parts and corners.search(p.read_text(encoding="utf-8"))]
    assert where == ["faceqa/landmarks.py"], where
    from faceqa.evidence import align, face_geometry, mesh_features
    from faceqa.landmarks import LEFT_EYE, OUTER_EYE_CORNERS, RIGHT_EYE

    assert align.RIGHT_EYE is face_geometry.RIGHT_EYE is mesh_features.RIGHT_EYE is RIGHT_EYE == (33, 133)
    assert LEFT_EYE == (362, 263) and OUTER_EYE_CORNERS == (33, 263)
