"""MEGC files: every published file parses; layouts, datasets, media lookup and AU-labels errors."""

from __future__ import annotations

import pytest

from faceqa.errors import InvalidInputError, MediaNotFoundError
from faceqa.megc.io import (
    FORMAT_LVQA_2026,
    FORMAT_VQA_2025,
    FORMAT_VQA_V2_2026,
    dataset_of,
    parse_row,
    read_qa_file,
)
from faceqa.megc.labels import read_au_labels
from faceqa.megc.media import MediaRef, candidate_names, find_media
from faceqa.qa.kinds import MEGC_LVQA_KINDS, MEGC_VQA_KINDS
from faceqa.qa.questions import parse_question

EXPECTED = {  # file -> (format, rows, clips, datasets)
    "megc2025_mevqa/me_vqa_samm_casme2_smic.jsonl": (FORMAT_VQA_2025, 992, 297, {"samm", "smic"}),
    "megc2025_mevqa/me_vqa_samm_test_to_answer.jsonl": (FORMAT_VQA_2025, 182, 30, {"samm"}),
    "megc2025_mevqa/me_vqa_casme3_test_to_answer.jsonl": (FORMAT_VQA_2025, 914, 152, {"casme3"}),
    "megc2025_mevqa/example_predictions_Humphrey-0125/me_vqa_samm_test_pred.jsonl": (FORMAT_VQA_2025, 35, 7, {"samm"}),
    "megc2025_mevqa/example_predictions_Humphrey-0125/me_vqa_casme3_test_pred.jsonl":
        (FORMAT_VQA_2025, 85, 17, {"casme3"}),
    "megc2026_lvqa/me_lvqa_samm_test_to_answer.jsonl": (FORMAT_LVQA_2026, 60, 10, {"samm"}),
    "megc2026_lvqa/me_lvqa_casme3_test_to_answer.jsonl": (FORMAT_LVQA_2026, 120, 20, {"casme3"}),
    "megc2026_mevqa_v2_example/me_vqa_samm_v2_test_pred_KeiraLalala.jsonl": (FORMAT_VQA_V2_2026, 35, 7, {"samm"}),
}


@pytest.mark.realdata
def test_every_megc_file_parses(shared_data):
    files = sorted((shared_data / "vqa").rglob("*.jsonl"))
    assert len(files) == len(EXPECTED)
    for path in files:
        rel = path.relative_to(shared_data / "vqa").as_posix()
        qa = read_qa_file(path)
        fmt, rows, clips, datasets = EXPECTED[rel]
        assert (qa.format, len(qa.rows), len(qa.clips()), {r.dataset for r in qa.rows}) == (fmt, rows, clips, datasets)
        kinds = {parse_question(r.question).kind for r in qa.rows}
        allowed = MEGC_LVQA_KINDS if fmt == FORMAT_LVQA_2026 else MEGC_VQA_KINDS
        assert kinds <= allowed, (rel, kinds - allowed)
        for r in qa.rows:
            q = parse_question(r.question)
            if q.kind in ("au_present", "au_side"):
                assert q.au is not None, r.question
            if q.kind == "event_type":
                assert q.index >= 1
        if "test_to_answer" in rel and fmt == FORMAT_VQA_2025:
            assert all(r.onset is not None and r.offset is not None for r in qa.rows)
            reversed_clips = {r.clip for r in qa.rows if r.offset < r.onset}
            assert reversed_clips == ({"3_003_1_1495"} if "samm" in rel else set())  # a typo in the published file


@pytest.mark.realdata
def test_training_answers_parse_with_their_questions(shared_data):
    """Every answer of the 2025 training file fits its question kind (labels, AU names, yes/no, left/right)."""
    from faceqa.megc.evaluate import read_au_set

    for r in read_qa_file(shared_data / "vqa/megc2025_mevqa/me_vqa_samm_casme2_smic.jsonl").rows:
        kind = parse_question(r.question).kind
        if kind == "aus":
            numbers, bad = read_au_set(r.answer)
            assert numbers and not bad, r.answer
            assert ("are" in r.question) == (len(numbers) > 1)  # the question's number is the answer's
        elif kind == "au_present":
            assert r.answer in ("yes", "no")
        elif kind == "au_side":
            assert r.answer in ("left", "right")


def test_row_layouts_and_datasets():
    r25 = parse_row({"id": "samm_test_dzw_a1_338_1", "dataset": "samm_test", "image_id": "dzw_a1_338",
                     "subject": "dzw", "filename": "a1", "onset_frame": 338, "offset_frame": 346,
                     "question": "What is the coarse expression class?", "answer": ""}, "f.jsonl", 1)
    assert (r25.qid, r25.clip, r25.dataset, r25.onset, r25.offset) == ("samm_test_dzw_a1_338_1", "dzw_a1_338",
                                                                       "casme3", 338, 346)
    assert r25.submission("negative") == {"video_id": "samm_test_dzw_a1_338_1", "video": "dzw_a1_338",
                                          "question": "What is the coarse expression class?", "answer": "negative"}
    assert dataset_of({"dataset": "samm_test", "subject": 1}) == "samm"
    assert dataset_of({"video_id": "casme3_test_CAS-1_1"}) == "casme3"
    assert dataset_of({"video_id": "x_1"}) is None


@pytest.mark.parametrize("line, message", [
    ('["a"]', "f.jsonl:1: expected a JSON object"),
    ('{"video": "v", "question": "q"}', "f.jsonl:1: field 'video_id' (2026 files) or 'id' (2025 files) missing"),
    ('{"video_id": "v_1", "video": "v"}', "f.jsonl:1: field 'question' missing"),
    ('{"id": "a_1", "question": "q"}', "f.jsonl:1: field 'video' (2026 files) or 'image_id' (2025 files) missing"),
    ('{"id": "a_1", "image_id": "a", "question": "q", "onset_frame": "x"}', "f.jsonl:1: field 'onset_frame'"),
    ('{"video_id": "v_1", "video": "v", "question": ["q"]}', "f.jsonl:1: field 'question' must be text"),
])
def test_bad_rows_name_file_line_field(tmp_path, line, message):
    path = tmp_path / "f.jsonl"
    path.write_text(line + "\n")
    with pytest.raises(InvalidInputError) as err:
        read_qa_file(path)
    assert str(err.value).startswith(str(tmp_path / message.split(":")[0]))
    assert message.split(":", 1)[1] in str(err.value)


def test_bad_json_and_duplicates(tmp_path):
    path = tmp_path / "f.jsonl"
    path.write_text('{"video_id": "v_1", "video": "v", "question": "q"}\n{not json\n')
    with pytest.raises(InvalidInputError, match=r"f.jsonl:2: not valid JSON"):
        read_qa_file(path)
    path.write_text('{"video_id": "v_1", "video": "v", "question": "q"}\n' * 2)
    with pytest.raises(InvalidInputError, match=r"f.jsonl:2: duplicate row key 'v_1' \(first on line 1\)"):
        read_qa_file(path)


def test_au_labels_csv(tmp_path):
    path = tmp_path / "labels.csv"
    path.write_text("image_id,aus,onset,offset,type\nc1,4+R10,,,\nc2,\"lip corner puller, left dimpler\",,,\n"
                    "v1,12,10,20,Micro-expression\nv1,4,30,90,macro\n")
    labels = read_au_labels(path)
    assert [a.code for a in labels["c1"].aus] == ["4", "R10"]
    assert [a.code for a in labels["c2"].aus] == ["12", "L14"]
    assert [(e.onset, e.offset, e.expression_type) for e in labels["v1"].events] == [(10, 20, "micro"),
                                                                                     (30, 90, "macro")]
    assert [a.number for a in labels["v1"].aus] == [12, 4]
    for body, message in [("video,aus\nc1,4+Q9\n", "labels.csv:2: field 'aus'"),
                          ("video,aus,onset,offset\nc1,4,10,\n", "labels.csv:2: an event needs both"),
                          ("video,aus,onset,offset\nc1,4,10,5\n", "labels.csv:2: offset 5 is before onset 10"),
                          ("video,aus,onset,offset,type\nc1,4,1,5,huge\n", "labels.csv:2: field 'type'"),
                          ("clip,aus\nc1,4\n", r"needs columns 'video' \(or 'image_id'\) and 'aus'")]:
        path.write_text(body)
        with pytest.raises(InvalidInputError, match=message):
            read_au_labels(path)


def test_media_layouts(tmp_path):
    row = parse_row({"id": "samm_test_1_001_2_8906_1", "dataset": "samm_test", "image_id": "1_001_2_8906",
                     "subject": 1, "filename": "001_2", "onset_frame": 3, "offset_frame": 5,
                     "question": "q"}, "f", 1)
    assert [n for n, _ in candidate_names(row)] == ["1_001_2_8906", "1/1_001_2_8906", "1/001_2", "001_2", "1_001_2"]
    with pytest.raises(MediaNotFoundError, match="tried 1_001_2_8906, 1/1_001_2_8906, 1/001_2"):
        find_media(tmp_path, row)
    from PIL import Image

    rec = tmp_path / "1" / "001_2"
    rec.mkdir(parents=True)
    for i in range(8):
        Image.new("RGB", (8, 8)).save(rec / f"001_2_{i:04d}.jpg")
    ref = find_media(tmp_path, row)
    assert (ref.path, ref.start, ref.end, ref.fps) == (rec, 3, 5, 200.0)  # SAMM frames: 200 fps
    clip = tmp_path / "1_001_2_8906"  # the clip itself, frames numbered from 0: the range is not in it
    clip.mkdir()
    for i in range(3):
        Image.new("RGB", (8, 8)).save(clip / f"{i}.jpg")
    assert find_media(tmp_path, row, fps=30) == MediaRef(clip, None, None, 30)
    for i in range(3, 6):
        Image.new("RGB", (8, 8)).save(clip / f"{i}.jpg")
    assert find_media(tmp_path, row) == MediaRef(clip, 3, 5, 200.0)  # its frames carry the recording's numbers
    v26 = parse_row({"video_id": "casme3_test_dzw_a1_1", "video": "dzw_a1", "question": "q"}, "f", 1)
    assert [n for n, _ in candidate_names(v26)] == ["dzw_a1", "dzw/a1", "a1"]


def test_subject_folds_hold_each_subject_out_once():
    from faceqa.megc.splits import subject_folds

    subjects = [f"s{i:02d}" for i in range(10)] * 3  # each subject has three clips
    assert subject_folds(subjects, 4) == [set(sorted(set(subjects))[k::4]) for k in range(4)]
    shuffled = subject_folds(subjects, 4, seed=7)
    assert shuffled == subject_folds(subjects, 4, seed=7) != subject_folds(subjects, 4)
    assert sorted(s for fold in shuffled for s in fold) == sorted(set(subjects))
    assert subject_folds(subjects[:3], 10) == [{"s00"}, {"s01"}, {"s02"}]  # leave one subject out
