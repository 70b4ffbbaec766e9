"""Training: MEGC-style QA pairs, subject splits, a few real steps on a tiny LLM, checkpoint and resume."""

from __future__ import annotations

import json

import numpy as np
import pytest

from faceqa.cli.main import main
from faceqa.errors import InvalidInputError
from faceqa.evidence.annotations import LabelledExpression
from faceqa.evidence.au_codes import parse_aus
from faceqa.train.config import TrainConfig
from faceqa.train.evaluate import au_set_f1, score_answers
from faceqa.train.examples import load_clips, qa_examples, split_by_subject, subject_key


def test_qa_pairs_use_megc_wording():
    clip = LabelledExpression("samm", "6", "006_1_2", tuple(parse_aus("4+R7")), "anger", "negative")
    ex = {e.kind: e for e in qa_examples(clip, np.random.default_rng(0))}
    assert ex["aus"].question == "What are the action units?" and ex["aus"].answer == "brow lowerer, lid tightener"
    assert ex["compound"].answer == ("The action units present are: brow lowerer, lid tightener. Therefore, the "
                                     "fine-grained expression class is anger, and the coarse expression class is "
                                     "negative.")
    assert ex["side"].answer == "right" and ex["side"].question.endswith("located on the left or right face?")


def test_qa_pairs_reproduce_the_megc_training_answers(shared_data):
    rows = [json.loads(line) for line in (shared_data / "vqa/megc2025_mevqa/me_vqa_samm_casme2_smic.jsonl").open()]
    gold = {(r["image_id"], r["question"]): r["answer"] for r in rows}
    clips = load_clips(shared_data, ("megc2025",))
    rng = np.random.default_rng(0)
    checked = [(gold[(e.clip.clip, e.question)], e.answer) for c in clips for e in qa_examples(c, rng)
               if (e.clip.clip, e.question) in gold]
    assert len(checked) > 800
    assert all(g == a for g, a in checked)


def test_subject_split_holds_out_whole_subjects(shared_data):
    clips = load_clips(shared_data)
    train, test = split_by_subject(clips, 0.2, seed=0)
    assert {subject_key(c) for c in train}.isdisjoint({subject_key(c) for c in test})
    assert 0.1 < len(test) / len(clips) < 0.35
    assert {c.dataset for c in test} == {c.dataset for c in clips}


def test_au_set_f1():
    assert au_set_f1("brow lowerer", "brow lowerer, lid tightener") == pytest.approx(2 / 3)
    assert au_set_f1("brow lowerer, lid tightener", "4+R7") == 1.0
    assert au_set_f1("no idea", "brow lowerer") == 0.0


def test_score_answers_reports_megc_metrics():
    rows = [{"kind": "coarse", "answer": "negative", "reference": "negative"},
            {"kind": "coarse", "answer": "positive", "reference": "surprise"},
            {"kind": "fine", "answer": "anger", "reference": "anger"},
            {"kind": "aus", "answer": "brow lowerer", "reference": "brow lowerer"}]
    s = score_answers(rows)
    assert s["coarse"]["accuracy"] == 0.5 and s["fine"]["uf1"] == 1.0 and s["au_f1"] == 1.0
    assert 0 < s["bleu4"] <= 1 and 0 < s["rouge1"] <= 1 and 0 <= s["corpus_bleu4"] <= 1


def test_config_refuses_unknown_keys(tmp_path):
    (tmp_path / "bad.toml").write_text('steps = 3\nlearning_rate = 1\n')
    with pytest.raises(InvalidInputError, match="learning_rate"):
        TrainConfig.load(tmp_path / "bad.toml")
    (tmp_path / "bad2.toml").write_text('[model]\nrank = 3\n')
    with pytest.raises(InvalidInputError, match="rank"):
        TrainConfig.load(tmp_path / "bad2.toml")


def test_train_cli_runs_checkpoints_and_resumes(shared_data, tiny_llm_dir, tmp_path, capsys):
    cfg = tmp_path / "run.toml"
    cfg.write_text(f'output_dir = "out"\ndata_root = "{shared_data}"\nsteps = 4\nbatch_size = 2\nsave_every = 2\n'
                   f'log_every = 1\neval_clips = 2\n[model]\nbase_model = "{tiny_llm_dir}"\nhidden = 32\n')
    assert main(["train", "--config", str(cfg), "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    bundle = tmp_path / "out" / "bundle"
    assert result["bundle"] == str(bundle)
    for part in ("config.json", "adapter", "evidence.safetensors", "prompt.txt", "README.md", "scores.json"):
        assert (bundle / part).exists(), part
    card = (bundle / "README.md").read_text()
    assert "annotation-evidence" in card and "held-out" in card.lower()
    log = [json.loads(line) for line in (tmp_path / "out" / "log.jsonl").read_text().splitlines()]
    assert [r["step"] for r in log] == [1, 2, 3, 4]
    assert json.loads((tmp_path / "out" / "checkpoint" / "progress.json").read_text()) == {"step": 2}
    assert main(["train", "--config", str(cfg), "--steps", "5", "--json"]) == 0
    capsys.readouterr()
    log = [json.loads(line) for line in (tmp_path / "out" / "log.jsonl").read_text().splitlines()]
    assert [r["step"] for r in log][-3:] == [3, 4, 5]  # resumed from the step-2 checkpoint


def test_media_mode_trains_from_video_evidence(tiny_llm_dir, tmp_path, astronaut, capsys):
    """Media mode: MEGC-format training QA + a media root of clips (here synthetic ones) named by clip id."""
    from faceqa.synth import ClipSpec, InjectedAU, InjectedEvent, make_clip

    face = np.ascontiguousarray(astronaut[0:360, 45:405])
    rows = []
    for i, (subject, au, name, fine, coarse) in enumerate([("1", 12, "lip corner puller", "happiness", "positive"),
                                                           ("1", 4, "brow lowerer", "anger", "negative"),
                                                           ("2", 12, "lip corner puller", "happiness", "positive"),
                                                           ("2", 1, "inner brow raiser", "sadness", "negative")]):
        clip = f"s{subject}_{i}"
        level = {12: 0.5, 4: 0.8, 1: 0.5}[au]  # FACS C-D: clearly visible, not extreme
        make_clip(face, ClipSpec(24, 30.0, [InjectedEvent(4, 10, 16, [InjectedAU(au, "both", level)])]),
                  tmp_path / "media" / clip)
        for q, a in [("What is the coarse expression class?", coarse), ("What is the fine-grained expression class?",
                     fine), ("What is the action unit?", name)]:
            rows.append({"id": f"{clip}_{len(rows)}", "dataset": "samm", "image_id": clip, "subject": subject,
                         "filename": clip, "question": q, "answer": a})
    (tmp_path / "train.jsonl").write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    cfg = tmp_path / "media.toml"
    cfg.write_text(f'output_dir = "out"\nmode = "media"\nmedia_root = "media"\nsources = []\n'
                   f'qa_files = ["train.jsonl"]\nholdout = 0.5\nsteps = 2\nbatch_size = 2\nsave_every = 0\n'
                   f'[model]\nbase_model = "{tiny_llm_dir}"\nhidden = 32\n')
    assert main(["train", "--config", str(cfg), "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert set(result["scores"]) == {"video_evidence"}
    assert result["scores"]["video_evidence"]["overall"]["questions"] == 12  # 2 held-out clips x 6 questions
    assert "evidence from video" in (tmp_path / "out" / "bundle" / "README.md").read_text()
