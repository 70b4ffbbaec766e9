"""AULLM++ on a tiny random LLM: tokens at the placeholders, gradients, CCR, bundle round trip, training."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from faceqa.aullm.bundle import create_model, from_pretrained, prior_sha256, save_pretrained
from faceqa.aullm.config import AULLMConfig
from faceqa.aullm.features import HIGH_DIM, MID_DIM, NODE_DIM, collate, features_from_evidence, features_from_labels
from faceqa.aullm.losses import asymmetric_loss
from faceqa.errors import IncompatibleBundleError
from faceqa.facs.au_codes import parse_aus
from faceqa.train.batches import annotation_features, make_batch
from faceqa.train.examples import qa_examples


@pytest.fixture()
def model(tiny_llm_dir):
    torch.manual_seed(0)
    return create_model(AULLMConfig(base_model=str(tiny_llm_dir), hidden=32))


def _batch(model, codes=("4+7", "R12"), seed=0):
    rng = np.random.default_rng(seed)
    return collate([features_from_labels(parse_aus(c), model.node_aus, rng) for c in codes])


def test_feature_shapes_and_synthesis_follows_labels(model):
    f = features_from_labels(parse_aus("R12"), model.node_aus, np.random.default_rng(1), oracle_dropout=1.0)
    assert f.mid.shape == (22, MID_DIM) and f.high.shape == (HIGH_DIM,) and f.nodes.shape[1] == NODE_DIM
    row = f.nodes[model.node_aus.index(12)]
    assert row[1] > 0.5 and row[0] < 0.3 * row[1]  # right side moved, left hardly
    assert float(f.nodes[:, 4:].abs().sum()) == 0.0  # oracle channel dropped


def test_tokens_land_at_the_placeholders(model):
    feats = _batch(model)
    ct, it, logits = model.evidence_tokens(feats)
    assert ct.shape == (2, 4, 64) and it.shape == (2, 2, 64) and logits.shape == (2, len(model.node_aus))
    premises = "AUs: brow lowerer 98% both."
    prefix = model.prefix_embeds(ct[0], it[0], premises)
    premise_ids = model.tokenizer(premises, add_special_tokens=False)["input_ids"]
    sizes = [len(p) if isinstance(p, list) else {"content": 4, "instruction": 2, "premises": len(premise_ids)}[p]
             for p in model.layout.prefix]
    assert [p for p in model.layout.prefix if isinstance(p, str)] == ["content", "instruction", "premises"]
    start = sizes[0]
    assert model.layout.prefix[1] == "content" and model.layout.prefix[3] == "instruction"
    assert torch.equal(prefix[start:start + 4], ct[0])
    start_it = sum(sizes[:3])
    assert torch.equal(prefix[start_it:start_it + 2], it[0])
    start_p = sum(sizes[:5])
    emb = model.llm.get_input_embeddings()
    assert torch.equal(prefix[start_p:start_p + len(premise_ids)], emb(torch.tensor(premise_ids)))
    assert torch.equal(prefix[:start], emb(torch.tensor(model.layout.prefix[0])))
    assert model.layout.suffix_template.startswith("{candidates}Question: {question}")


def test_prompt_v1_still_loads(tiny_llm_dir):
    """Bundles trained with prompt version 1 (no premises) keep working."""
    old = create_model(AULLMConfig(base_model=str(tiny_llm_dir), hidden=32, prompt="aullm_v1"))
    assert not old.uses_premises and not old.layout.has_candidates
    f = features_from_labels(parse_aus("4"), old.node_aus, np.random.default_rng(0))
    assert len(old.answer(f, ["What is the coarse expression class?"], max_new_tokens=3)) == 1


def test_packed_questions_score_as_if_alone(model):
    """Packing a clip's questions behind one prefix (block mask, restarted positions) changes no loss."""
    model.eval()
    feats = _batch(model)
    qs = ["What are the action units?", "What is the coarse expression class?",
          "Is the action unit brow lowerer shown on the face?"]
    ans = ["brow lowerer, lid tightener", "negative", "yes"]
    groups, premises = [0, 0, 1], ["AUs: brow lowerer 98% both.", "AUs: lip corner puller 90% right."]
    cands = ["", "Candidates: anger 50%; negative 90%.\n", ""]
    with torch.no_grad():
        ct, it, _ = model.evidence_tokens(feats)
        packed = model.packed_nll(ct, it, premises, qs, ans, groups, cands)
        alone = torch.cat([model.packed_nll(ct, it, premises, [q], [a], [g], [c])
                           for q, a, g, c in zip(qs, ans, groups, cands, strict=True)])
    assert torch.allclose(packed, alone, atol=1e-5)


def test_gradients_reach_projector_graph_and_lora(model):
    out = model(_batch(model), ["What are the action units?", "What is the coarse expression class?"],
                ["brow lowerer, lid tightener", "positive"], au_targets=torch.zeros(2, len(model.node_aus)))
    out["loss"].backward()
    assert model.projector.queries.grad.abs().sum() > 0
    assert model.gnn.edge_logit.grad.abs().sum() > 0
    lora = [p for n, p in model.llm.named_parameters() if "lora_" in n]
    assert lora and any(p.grad is not None and p.grad.abs().sum() > 0 for p in lora)
    base = [p for n, p in model.llm.named_parameters() if "lora_" not in n]
    assert all(not p.requires_grad for p in base)


def test_ccr_changes_the_loss(model):
    from faceqa.facs.annotations import LabelledExpression

    model.eval()  # no dropout: the two batches' LM losses must match
    clip = LabelledExpression("samm", "1", "c", tuple(parse_aus("4+7")), "anger", "negative")
    ex = [e for e in qa_examples(clip, np.random.default_rng(0)) if e.kind in ("aus", "coarse")]
    feats = annotation_features(model.node_aus)
    with_ccr = make_batch([ex], model, np.random.default_rng(3), feats, True)
    without = make_batch([ex], model, np.random.default_rng(3), feats, False)
    assert with_ccr.ccr_mask.tolist() == [1.0 if e.kind == "aus" else 0.0 for e in ex]
    assert with_ccr.premises[0].startswith("AUs: ") and with_ccr.counterfactual_premises[0].startswith("AUs: ")
    assert [bool(c) for c in with_ccr.candidates] == [e.kind == "coarse" for e in ex]
    a = model(**with_ccr.model_kwargs())
    b = model(**without.model_kwargs())
    assert "ccr" in a and "ccr" not in b
    assert float(a["loss"]) != pytest.approx(float(b["loss"]))
    assert float(a["lm"]) == pytest.approx(float(b["lm"]), rel=1e-5)


def test_asymmetric_loss_downweights_easy_negatives():
    logits = torch.tensor([[-4.0, 3.0]])
    targets = torch.tensor([[0.0, 1.0]])
    assert asymmetric_loss(logits, targets) < torch.nn.functional.binary_cross_entropy_with_logits(logits, targets)
    assert asymmetric_loss(torch.tensor([[3.0]]), torch.tensor([[0.0]])) > 0.1


def test_save_reload_same_logits_and_answers(model, tmp_path, tiny_llm_dir):
    model.eval()
    feats = _batch(model)
    with torch.no_grad():  # move LoRA away from its zero init, so a reload that lost it would show
        for n, p in model.llm.named_parameters():
            if "lora_B" in n:
                p.add_(0.01)
        before = model(feats, ["What is the coarse expression class?"] * 2, ["negative", "positive"])
    save_pretrained(model, tmp_path / "bundle", scores={"x": 1})
    again = from_pretrained(tmp_path / "bundle")
    with torch.no_grad():
        after = again(feats, ["What is the coarse expression class?"] * 2, ["negative", "positive"])
    assert torch.allclose(before["logits"], after["logits"], atol=1e-6)
    assert float(before["lm"]) == pytest.approx(float(after["lm"]), abs=1e-5)
    one = features_from_labels(parse_aus("4"), model.node_aus, np.random.default_rng(0))
    qs = ["What is the coarse expression class?", "What are the action units?"]
    assert model.answer(one, qs, max_new_tokens=6) == again.answer(one, qs, max_new_tokens=6)


def test_bundle_records_feature_dims_and_prior_hash_and_refuses_a_mismatch(model, tmp_path):
    import json

    folder = save_pretrained(model, tmp_path / "bundle")
    config = json.loads((folder / "config.json").read_text())
    assert config["features"] == {"regions": 22, "mid": MID_DIM, "high": HIGH_DIM, "node": NODE_DIM}
    assert config["au_prior_sha256"] == prior_sha256() and len(prior_sha256()) == 64

    def load_with(**changes):
        (folder / "config.json").write_text(json.dumps(config | changes))
        return from_pretrained(folder)

    with pytest.raises(IncompatibleBundleError, match=rf"{folder}.*feature dimension 'high' is 7 in the bundle, "
                                                      rf"{HIGH_DIM} here"):
        load_with(features=config["features"] | {"high": 7})
    with pytest.raises(IncompatibleBundleError, match=r"feature dimension 'crops' is 2 in the bundle, None here"):
        load_with(features=config["features"] | {"crops": 2})
    with pytest.raises(IncompatibleBundleError, match=rf"{folder}.*au_relation_prior.json\) has sha256 0{{64}} in the "
                                                      rf"bundle, {prior_sha256()} here"):
        load_with(au_prior_sha256="0" * 64)
    old = {k: v for k, v in config.items() if k not in ("features", "au_prior_sha256")}  # a bundle made before
    (folder / "config.json").write_text(json.dumps(old))
    assert from_pretrained(folder).config.features is None


def test_answer_reuses_the_prefix_for_each_question(model):
    """Answering several questions at once gives what answering each alone gives."""
    model.eval()
    one = features_from_labels(parse_aus("1+2"), model.node_aus, np.random.default_rng(0))
    qs = ["What is the coarse expression class?", "Is the action unit brow lowerer shown on the face?"]
    together = model.answer(one, qs, max_new_tokens=5, premises="AUs: none.")
    assert together == [model.answer(one, [q], max_new_tokens=5, premises="AUs: none.")[0] for q in qs]


def test_features_from_real_evidence(model, tmp_path, astronaut):
    from faceqa.evidence.extract import extract_evidence
    from faceqa.synth import ClipSpec, InjectedAU, InjectedEvent, make_clip

    make_clip(np.ascontiguousarray(astronaut[0:360, 45:405]),
              ClipSpec(40, 30.0, [InjectedEvent(10, 16, 24, [InjectedAU(12, "L", 0.5)])]), tmp_path / "c")
    ev = extract_evidence(tmp_path / "c", fps=30)
    f = features_from_evidence(ev, model.node_aus, onset=10, offset=24)
    row = f.nodes[model.node_aus.index(12)]
    assert row[0] > 0.5 and row[0] > 2 * row[1]
    assert f.mid.abs().max() > 0.1


def test_answerer_contract_with_a_bundle(model, tmp_path, monkeypatch):
    """faceqa.qa.FaceQA's LLM answerer: load a bundle, answer from label facts and from video evidence."""
    from faceqa.aullm.answerer import default_bundle_path, load_answerer
    from faceqa.qa.facts import facts_from_labels

    save_pretrained(model, tmp_path / "bundle")
    monkeypatch.setenv("FACEQA_BUNDLE", str(tmp_path / "bundle"))
    assert default_bundle_path() == tmp_path / "bundle"
    answerer = load_answerer()
    facts = facts_from_labels(parse_aus("4+R7"))
    feats = answerer.features(facts, None)
    assert feats.nodes[model.node_aus.index(7), 5] == 1.0 and feats.nodes[model.node_aus.index(7), 4] == 0.0
    answers = answerer.answer(facts, None, ["What is the coarse expression class?", "What are the action units?"])
    assert answers[0] in ("positive", "negative", "surprise")  # constrained: a valid label even untrained
    names = answers[1].split(", ")
    assert len(names) >= 2 and len(set(names)) == len(names)
    premises = answerer.premises(facts, feats)
    assert premises.text().startswith("AUs: ") and premises.fine and premises.coarse
    route = answerer.route("coarse", "labels", "samm")
    assert not route.llm and "no held-out score" in route.reason  # a bundle without scores never routes to the LLM


def test_coarse_answers_follow_the_fine_answer_where_the_dataset_has_fine_classes(model):
    """As the composer does: the coarse class is the fine answer's (MEGC's map), in the compound sentence too;
    a dataset trained on coarse labels only (SMIC) answers the coarse question directly."""
    from faceqa.aullm.answerer import LLMAnswerer
    from faceqa.aullm.decoding import ClassVocab
    from faceqa.facs.emotion_classes import COARSE_OF
    from faceqa.qa.facts import facts_from_labels

    vocab = {"samm": ClassVocab(fine=("happiness", "anger", "surprise")),
             "smic": ClassVocab.from_dict({"fine": [], "coarse": ["positive", "negative", "surprise"]}),
             "casme3": ClassVocab(fine=("others",))}
    assert vocab["samm"].coarse_from_fine and not vocab["smic"].coarse_from_fine
    answerer = LLMAnswerer(model, vocab)
    decoder = model.decoder()
    compound = ("What are the action units present, and based on them, what is the fine-grained expression and the "
                "coarse expression class?")
    for codes in ("4+R7", "12", "1+2+5"):
        facts = facts_from_labels(parse_aus(codes))
        decoder.trace = []
        (coarse,) = answerer.answer(facts, None, ["What is the coarse expression class?"], dataset="samm")
        assert [e["role"] for e in decoder.trace] == ["fine"]  # the fine question asked in its place
        fine = answerer.answer(facts, None, ["What is the fine-grained expression class?"], dataset="samm")[0]
        assert coarse == COARSE_OF[fine]
        sentence = answerer.answer(facts, None, [compound], dataset="samm")[0]
        said_fine, said_coarse = sentence.rstrip(".").split("class is ")[1:]
        assert said_coarse == COARSE_OF[said_fine.split(",")[0]]
        for dataset in ("smic", "casme3"):  # no fine classes; a fine answer (others) without a coarse class
            decoder.trace = []
            answer = answerer.answer(facts, None, ["What is the coarse expression class?"], dataset=dataset)
            assert answer[0] in vocab["smic"].coarse
            assert [e["role"] for e in decoder.trace] == (["coarse"] if dataset == "smic" else ["fine", "coarse"])
    decoder.trace = None


def test_vision_encoder_feeds_the_content_tokens(tiny_llm_dir, tmp_path, astronaut):
    """A tiny random ViT (Auto classes, saved locally) embeds the aligned face crops into MGE-EFP."""
    from transformers import ViTConfig, ViTModel

    from faceqa.evidence.extract import extract_evidence
    from faceqa.synth import ClipSpec, InjectedAU, InjectedEvent, make_clip

    vit_dir = tmp_path / "vit"
    ViTModel(ViTConfig(image_size=32, patch_size=8, hidden_size=32, num_hidden_layers=1, num_attention_heads=2,
                       intermediate_size=64)).save_pretrained(vit_dir)
    torch.manual_seed(0)
    model = create_model(AULLMConfig(base_model=str(tiny_llm_dir), hidden=32, vision_encoder=str(vit_dir)))
    assert model.vision is not None and not any(p.requires_grad for p in model.vision.parameters())
    make_clip(np.ascontiguousarray(astronaut[0:360, 45:405]),
              ClipSpec(30, 30.0, [InjectedEvent(8, 14, 20, [InjectedAU(4, "both", 0.8)])]), tmp_path / "c")
    ev = extract_evidence(tmp_path / "c", fps=30, keep_faces=True)
    assert ev.faces.shape == (30, 128, 128)
    f = features_from_evidence(ev, model.node_aus, onset=8, offset=20)
    assert f.crops.shape == (2, 128, 128)
    model.eval()
    ct, _, _ = model.evidence_tokens(collate([f]))
    f2 = features_from_evidence(ev, model.node_aus, onset=8, offset=20)
    f2.crops = torch.zeros_like(f2.crops)
    ct2, _, _ = model.evidence_tokens(collate([f2]))
    assert not torch.allclose(ct, ct2)  # the crops reach the content tokens
    out = model(collate([f]), ["What is the coarse expression class?"], ["negative"])
    out["lm"].backward()
    assert model.projector.vision_in[1].weight.grad.abs().sum() > 0
    save_pretrained(model, tmp_path / "bundle")
    again = from_pretrained(tmp_path / "bundle")
    assert model.answer(f, ["What are the action units?"], max_new_tokens=4) == \
        again.answer(f, ["What are the action units?"], max_new_tokens=4)


def test_premises_weak_fill_counts_passed_through_aus():
    """An AU a label names outside the graph counts toward the two listed AUs: no weak AU is added then."""
    from faceqa.aullm.premises import build_premises

    node_aus = [4, 7, 9]
    probs = [0.9, 0.3, 0.2]
    nodes = np.zeros((3, 6))
    alone = build_premises(probs, node_aus, nodes, candidates=False)
    assert [a.au for a in alone.aus] == [4, 7]  # weak fill up to two
    with_extra = build_premises(probs, node_aus, nodes, extra=parse_aus("L61"), candidates=False)
    assert [(a.au, a.confidence, a.side) for a in with_extra.aus] == [(4, 0.9, None), (61, 1.0, "left")]


def test_readout_premises_state_what_the_composer_states():
    """From video, the premises are the evidence read-out: its AUs that carry the expression stated (>= 90%,
    strongest first), a weaker active AU left out, the strongest other AU as an unwritten fill when one is
    stated, and the candidates the facts' own deduction."""
    from faceqa.aullm.premises import THRESHOLD, readout_premises
    from faceqa.qa.facts import AUFact, Facts

    brow, lid, smile = (AUFact(4, "brow lowerer", "both", 0.6), AUFact(7, "lid tightener", "R", 0.3),
                        AUFact(12, "lip corner puller", "L", 0.2))
    facts = Facts("video", aus=[brow, lid, smile], ranked=[brow, lid, smile],
                  fine_scores={"anger": 0.7, "disgust": 0.3}, coarse_scores={"negative": 1.0})
    p = readout_premises(facts, {"onset": 3, "apex": 6, "offset": 9, "fps": 30.0})
    assert [(a.au, a.confidence, a.side) for a in p.aus] == [(4, 0.96, "both"), (7, 0.93, "right")]
    assert all(a.confidence >= THRESHOLD for a in p.aus) and p.fine == facts.fine_scores
    assert p.text() == "AUs: brow lowerer 96% both, lid tightener 93% right.\nInterval: frames 3-9, apex 6, 0.20 s."
    facts.aus = [brow]  # one active AU: the strongest other one fills in, not written
    alone = readout_premises(facts, candidates=False)
    assert [(a.au, a.confidence) for a in alone.aus + alone.fill] == [(4, 0.96), (7, 0.15)]
    assert alone.text() == "AUs: brow lowerer 96% both."
    assert readout_premises(Facts("video"), candidates=False).text() == "AUs: none."
