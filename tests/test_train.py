"""Training: MEGC-style QA pairs, subject splits, a few real steps on a tiny LLM, checkpoint and resume."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

from faceqa.aullm.calibration import FORMAT, STRENGTHS, WEIGHTS
from faceqa.cli.main import main
from faceqa.errors import InvalidInputError
from faceqa.facs.annotations import LabelledExpression
from faceqa.facs.au_codes import parse_aus
from faceqa.megc.evaluate import read_au_set, read_compound, set_f1
from faceqa.train.card import score_tables
from faceqa.train.config import TrainConfig
from faceqa.train.evaluate import compare, kind_metrics, routing_table
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


def test_others_clips_follow_their_subject_and_keep_the_split(shared_data):
    from faceqa.train.loop import split

    cfg = TrainConfig(data_root=str(shared_data))
    train, held = split(cfg)
    cfg.others = True
    train_o, held_o = split(cfg)
    assert held_o[:len(held)] == held and train_o[:len(train)] == train  # the split without them is kept
    others = [c for c in train_o + held_o if c.fine == "others"]
    assert len(others) == len(train_o) + len(held_o) - len(train) - len(held) > 100
    assert all(c.dataset.startswith("casme3") and c.coarse is None for c in others)
    held_subjects = {subject_key(c) for c in held}
    assert {subject_key(c) for c in held_o} == held_subjects
    assert {subject_key(c) for c in train_o}.isdisjoint(held_subjects)
    assert not any(e.kind in ("coarse", "compound") for c in others for e in qa_examples(c, np.random.default_rng(0)))


def test_au_set_f1():
    def au_set_f1(pred: str, truth: str) -> float:
        return set_f1(read_au_set(pred)[0], read_au_set(truth)[0])

    assert au_set_f1("brow lowerer", "brow lowerer, lid tightener") == pytest.approx(2 / 3)
    assert au_set_f1("brow lowerer, lid tightener", "4+R7") == 1.0
    assert au_set_f1("no idea", "brow lowerer") == 0.0
    assert kind_metrics("aus", ["4+R7"], ["brow lowerer"]) == {"f1": pytest.approx(2 / 3, abs=1e-4), "n": 1}


def test_held_out_figures_compare_both_answerers_and_route():
    def row(kind, ref, llm, comp, ds="samm"):
        return {"mode": "labels", "dataset": ds, "clip": f"c{ref}{llm}", "kind": kind, "reference": ref, "llm": llm,
                "composer": comp}

    rows = [row("coarse", "negative", "negative", "negative"), row("coarse", "positive", "positive", "negative"),
            row("fine", "anger", "anger", "anger"), row("aus", "brow lowerer", "brow lowerer", "lid tightener"),
            row("au_present", "yes", "no", "yes", ds="casme3")]
    per = compare(rows)
    assert per["overall"]["coarse"]["llm"]["uf1"] == 1.0 and per["overall"]["coarse"]["composer"]["accuracy"] == 0.5
    assert per["samm"]["aus"]["llm"]["f1"] == 1.0 and per["samm"]["aus"]["composer"]["f1"] == 0.0
    assert "au_present" not in per["samm"] and per["casme3"]["au_present"]["n"] == 1
    table = routing_table({"labels": per})["labels"]
    assert table["samm"]["coarse"]["answerer"] == "llm" and table["samm"]["fine"]["answerer"] == "llm"  # a tie
    assert table["casme3"]["au_present"]["answerer"] == "composer"
    assert 0 < per["overall"]["text"]["llm"]["bleu4"] <= 1


def test_unseen_datasets_are_routed_by_the_datasets_answered_like_them():
    """A dataset the bundle never saw is answered with fine classes (its coarse answer follows the fine one), so
    it is routed by the held-out figures of the datasets answered that way, not by a pool that includes SMIC,
    whose coarse questions (no fine classes) are answered directly; old bundles fall back to the overall pool."""
    from faceqa.aullm.answerer import UNSEEN, LLMAnswerer
    from faceqa.aullm.decoding import ClassVocab
    from faceqa.train.evaluate import answered_like_unseen, score_modes

    def row(ds, ref, llm, comp, i):
        return {"mode": "labels", "dataset": ds, "clip": f"{ds}{i}", "kind": "coarse", "reference": ref, "llm": llm,
                "composer": comp}

    rows = [row("samm", "negative", "positive", "negative", 0), row("samm", "positive", "positive", "positive", 1),
            *(row("smic", ref, ref, "surprise", i) for i, ref in enumerate(("negative", "positive", "negative")))]
    vocab = {"samm": ClassVocab(fine=("anger", "happiness")),
             "smic": ClassVocab.from_dict({"fine": [], "coarse": ["negative", "positive", "surprise"]})}
    assert answered_like_unseen(vocab) == ["samm"]
    scores = score_modes(rows, answered_like_unseen(vocab))
    assert list(scores["labels"]) == ["overall", UNSEEN, "samm", "smic"]
    assert scores["labels"][UNSEEN]["coarse"]["n"] == 2 and scores["labels"]["overall"]["coarse"]["n"] == 5
    assert "unseen datasets (2 clips with fine classes)" in "\n".join(score_tables(scores))
    routing = routing_table(scores)
    answerer = LLMAnswerer(None, vocab, routing)
    route = answerer.route("coarse", "labels", "casme2")
    assert not route.llm and UNSEEN in route.reason  # the pool of all datasets would have said LLM
    assert answerer.route("coarse", "labels", "smic").llm
    del routing["labels"][UNSEEN]
    assert answerer.route("coarse", "labels", "casme2").llm  # a bundle scored without the scope: the overall pool
    assert score_modes(rows)["labels"].keys() == {"overall", "samm", "smic"}


def test_compound_answers_are_read_part_by_part():
    ref = ("The action units present are: brow lowerer, lid tightener. Therefore, the fine-grained expression class "
           "is anger, and the coarse expression class is negative.")
    assert read_compound(ref) == ({4, 7}, "anger", "negative")
    assert read_compound("anger") == (set(), None, None)
    m = kind_metrics("compound", [ref], [ref.replace("lid tightener", "nose wrinkler")])
    assert m["au_f1"] == 0.5 and m["fine_uf1"] == 1.0 and m["score"] == pytest.approx(2.5 / 3, abs=1e-4)


def test_config_refuses_unknown_keys(tmp_path):
    (tmp_path / "bad.toml").write_text('steps = 3\nlearning_rate = 1\n')
    with pytest.raises(InvalidInputError, match="learning_rate"):
        TrainConfig.load(tmp_path / "bad.toml")
    (tmp_path / "bad2.toml").write_text('[model]\nrank = 3\n')
    with pytest.raises(InvalidInputError, match="rank"):
        TrainConfig.load(tmp_path / "bad2.toml")


def test_the_shipped_configs_load_and_chain():
    """configs/: every recipe parses; the shipped bundle's stages chain through init_config to stage 1, and the
    shipped stage and the one-GPU recipe calibrate on every training clip."""
    folder = Path(__file__).resolve().parents[1] / "configs"
    configs = {f.name: TrainConfig.load(f) for f in sorted(folder.glob("*.toml"))}
    assert {"default_bundle.toml", "gpu_qwen0.5b.toml"} <= set(configs)
    name, chain = "default_bundle.toml", []
    while name:
        chain.append(name)
        cfg = configs[name]
        name = cfg.init_config and Path(cfg.init_config).name
        if name:
            assert Path(cfg.init_bundle).resolve() == (Path(configs[name].output_dir) / "bundle").resolve()
    assert len(chain) == 4 and configs[chain[-1]].init_bundle is None
    for shipped in ("default_bundle.toml", "gpu_qwen0.5b.toml"):
        assert configs[shipped].calibration_clips == "all" and configs[shipped].others


def _tiny_config(tmp_path, shared_data, tiny_llm_dir, **extra) -> TrainConfig:
    base = {"output_dir": str(tmp_path / "out"), "data_root": str(shared_data), "steps": 8, "batch_size": 2,
            "questions_per_clip": 3, "head_steps": 4, "head_batch_size": 8, "save_every": 4, "log_every": 1,
            "ccr_every": 2, "lr": 3e-3, "warmup": 1, "eval_clips": 2, "lvqa": False, "deduction_folds": 0,
            "threads": 1, "model": {"base_model": str(tiny_llm_dir), "hidden": 32, "lora_dropout": 0.0}}
    return TrainConfig.from_dict(base | extra)


def _curve(folder) -> dict[int, float]:
    log = [json.loads(line) for line in (folder / "log.jsonl").read_text().splitlines()]
    return {r["step"]: r["lm"] for r in log if "lm" in r}


def test_training_loss_falls_and_a_resumed_run_continues_the_same_curve(shared_data, tiny_llm_dir, tmp_path):
    from faceqa.train.loop import train

    whole = train(_tiny_config(tmp_path / "a", shared_data, tiny_llm_dir), progress=False)
    curve = _curve(tmp_path / "a" / "out")
    assert sorted(curve) == list(range(1, 9))
    assert np.mean([curve[s] for s in (6, 7, 8)]) < np.mean([curve[s] for s in (1, 2, 3)]) - 0.2

    class Interrupted(Exception):
        pass

    def stop_at_5(step, record):
        if step == 5:
            raise Interrupted

    cfg = _tiny_config(tmp_path / "b", shared_data, tiny_llm_dir)
    with pytest.raises(Interrupted):
        train(cfg, progress=False, on_step=stop_at_5)
    assert json.loads((tmp_path / "b" / "out" / "checkpoint" / "progress.json").read_text())["step"] == 4
    resumed = train(cfg, progress=False)
    again = _curve(tmp_path / "b" / "out")  # steps 1-5 of the first run, then 5-8 after resuming from step 4
    assert again == pytest.approx(curve, abs=1e-4)
    assert resumed["scores"]["labels"]["overall"]["coarse"] == whole["scores"]["labels"]["overall"]["coarse"]


def test_train_cli_writes_a_bundle_with_card_scores_and_routing(shared_data, tiny_llm_dir, tmp_path, capsys):
    cfg = tmp_path / "run.toml"
    cfg.write_text(f'output_dir = "out"\ndata_root = "{shared_data}"\nsteps = 2\nbatch_size = 2\nsave_every = 0\n'
                   f'questions_per_clip = 2\nlog_every = 1\neval_clips = 2\nlvqa = false\ndeduction_folds = 0\n'
                   f'[model]\nbase_model = "{tiny_llm_dir}"\nhidden = 32\n')
    assert main(["train", "--config", str(cfg)]) == 0
    out = capsys.readouterr().out
    assert "held-out, labels evidence: LLM coarse UF1" in out and "(composer " in out
    bundle = tmp_path / "out" / "bundle"
    for part in ("config.json", "adapter", "evidence.safetensors", "prompt.txt", "README.md", "scores.json",
                 "vocab.json", "heldout.jsonl"):
        assert (bundle / part).exists(), part
    card = (bundle / "README.md").read_text()
    assert "annotation-evidence" in card and "LLM and composer on the same clips" in card and "## Routing" in card
    scores = json.loads((bundle / "scores.json").read_text())
    assert set(scores["routing"]) == {"labels", "video"} and scores["training"]["steps"] == 2
    vocab = json.loads((bundle / "vocab.json").read_text())
    assert "contempt" in vocab["samm"]["fine"] and "contempt" not in vocab["casme3"]["fine"]
    assert vocab["smic"]["fine"] == [] and vocab["smic"]["coarse"] == ["positive", "negative", "surprise"]


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
                   f'deduction_folds = 0\nthreads = 1\n[model]\nbase_model = "{tiny_llm_dir}"\nhidden = 32\n')
    assert main(["train", "--config", str(cfg), "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert set(result["scores"]) == {"video"}
    assert result["scores"]["video"]["overall"]["questions"] == 12  # 2 held-out clips x 6 questions
    assert "evidence from video" in (tmp_path / "out" / "bundle" / "README.md").read_text()


def test_a_second_stage_starts_from_a_bundle_calibrates_and_rescores(shared_data, tiny_llm_dir, tmp_path):
    """Stage 2 continues stage 1's weights (balanced sampling), measures class priors, scores in two processes."""
    import torch

    from faceqa.aullm.bundle import from_pretrained
    from faceqa.train.loop import evaluate_bundle, start_from, train

    (tmp_path / "one.json").write_text(json.dumps(_tiny_config(tmp_path / "one", shared_data, tiny_llm_dir).to_dict()))
    first = {"bundle": str(tmp_path / "one" / "out" / "bundle")}
    cfg = _tiny_config(tmp_path / "two", shared_data, tiny_llm_dir, init_bundle=first["bundle"], steps=2,
                       init_config=str(tmp_path / "one.json"), balance=1.0, calibration_clips=4, eval_workers=2,
                       calibration_strength="fit", save_every=0)
    second = train(cfg, progress=False)  # stage 1 is not there yet: init_config trains it first
    stage1, stage2 = _curve(tmp_path / "one" / "out"), _curve(tmp_path / "two" / "out")
    assert stage2[1] < stage1[1]  # it starts from the trained weights, not from fresh ones
    trained = dict(from_pretrained(first["bundle"]).named_parameters())
    start = dict(start_from(cfg).named_parameters())
    lora = [n for n in trained if "lora_" in n]
    assert lora and all(torch.equal(trained[n], start[n]) for n in lora)
    bundle = Path(second["bundle"])
    calibration = json.loads((bundle / "calibration.json").read_text())
    assert set(calibration["priors"]) == {"coarse", "fine"}
    assert sum(calibration["priors"]["coarse"].values()) == pytest.approx(1.0, abs=0.02)
    assert set(calibration["strength"]) == {"coarse", "fine"} and calibration["strength"]["fine"] in STRENGTHS
    assert calibration["format"] == FORMAT and math.isfinite(calibration["stop_bias"])
    assert set(calibration["premise_weight"]) == {"coarse", "fine"}  # the premises' candidates were traced
    assert all(w in WEIGHTS for w in calibration["premise_weight"].values())
    assert set(calibration["fit"]["fine_uf1_by_premise_weight"]) == {str(w) for w in WEIGHTS}
    card = (bundle / "README.md").read_text()
    assert "Stage 1" in card and "Stage 2" in card and "calibration.json" in card
    scores = json.loads((bundle / "scores.json").read_text())
    assert scores["training"]["init"]["steps"] == 8
    assert 4 <= scores["split"]["calibration"]["clips"] <= 5  # a sample by dataset share: one per dataset at least
    rows = (bundle / "heldout.jsonl").read_text()
    cfg.eval_workers = 1
    evaluate_bundle(cfg, bundle, progress=False)
    assert (bundle / "heldout.jsonl").read_text() == rows  # one process answers as the two did
    other = _tiny_config(tmp_path / "three", shared_data, tiny_llm_dir, init_bundle=first["bundle"])
    other.model.lora_r = 4
    with pytest.raises(InvalidInputError, match="lora_r"):
        train(other, progress=False)


def test_config_refuses_bad_stage_two_values():
    for bad in ({"balance": 1.5}, {"eval_workers": 0}, {"calibration_strength": -1.0}, {"calibration_strength": "all"},
                {"calibration_clips": -1}, {"calibration_clips": "every"}, {"calibration_clips": True}):
        with pytest.raises(InvalidInputError, match=next(iter(bad))):
            TrainConfig.from_dict(bad)
    assert TrainConfig.from_dict({"calibration_clips": "all"}).calibration_clips == "all"


def test_the_card_lists_every_stage_of_a_chain(tmp_path):
    """A bundle trained in three stages: the card names each stage's steps and time, first stage first."""
    from faceqa.train.card import earlier_stages, model_card

    curve = [{"steps": "1-4", "lm": 1.0, "au": 0.1}]
    one = {"steps": 160, "head_steps": 1000, "batch_size": 4, "seconds": 3000, "cpu_seconds": 5000,
           "head_seconds": 400, "loss_curve": curve}
    two = {"steps": 60, "batch_size": 4, "seconds": 1300, "cpu_seconds": 1700, "loss_curve": curve, "init": one}
    three = {"steps": 120, "batch_size": 4, "seconds": 1200, "cpu_seconds": 2000, "loss_curve": curve, "init": two}
    assert earlier_stages(three) == [one, two] and earlier_stages(one) == []
    cfg = TrainConfig.from_dict({"output_dir": str(tmp_path), "steps": 120, "init_bundle": str(tmp_path / "b")})
    info = {"train_clips": 10, "held_out_clips": 4, "held_out_subjects": ["a"], "held_out_videos": 0}
    card = model_card(cfg, {}, info, three)
    assert card.index("- Stage 1: 1000 AU-head steps, then 160") < card.index("- Stage 2 (") \
        < card.index("- Stage 3 (this config): 120 more")
    assert "Time (stage 3): LLM stage 20.0 min wall (10.00 s/step)" in card
    assert [line for line in card.splitlines() if line.startswith("Loss curve")] == \
        [f"Loss curve (stage {i}; mean per window of steps):" for i in (1, 2, 3)]
