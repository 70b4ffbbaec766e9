"""A tiny random Llama-style causal LM with a locally trained tokenizer, for tests.

:func:`build_tiny_llm` writes a model folder that loads through :func:`faceqa.llm.load_causal_lm`
like any Hugging Face model: a byte-level BPE tokenizer trained with the ``tokenizers`` library
on :func:`tiny_corpus` (MEGC-style micro-expression questions and answers), a ChatML chat
template, and a 2-layer Llama with random weights (same architecture family as SmolLM2: RMSNorm,
rotary positions, grouped-query attention, SwiGLU, tied embeddings). Nothing is downloaded, and
the same arguments give the same files.
"""

from __future__ import annotations

import itertools
from pathlib import Path

import torch
from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

from faceqa.llm.chat import CHATML_TEMPLATE

SPECIAL_TOKENS = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]

_COARSE = ["positive", "negative", "surprise", "others"]
_FINE = ["happiness", "sadness", "anger", "fear", "disgust", "contempt", "surprise", "repression", "others"]
_AUS = ["inner brow raiser", "outer brow raiser", "brow lowerer", "upper lid raiser", "cheek raiser",
        "lid tightener", "nose wrinkler", "upper lip raiser", "lip corner puller", "dimpler",
        "lip corner depressor", "chin raiser", "lip stretcher", "lip tightener", "lip pressor", "lips part",
        "jaw drop", "eye closure", "eyes closed", "blink"]
_QUESTIONS = [
    "What is the coarse expression class?",
    "What is the fine-grained expression class?",
    "What are the action units?",
    "Is the action unit {au} shown on the face?",
    "On which side is the action unit {au} shown?",
    "What are the action units present, and based on them, what is the fine-grained expression "
    "and the coarse expression class?",
    "When does the micro-expression start, peak and end?",
    "How many micro-expressions are there in the clip?",
]
_SYSTEM = "You answer questions about facial micro-expressions from the evidence given."


def tiny_corpus() -> list[str]:
    """About 1,600 lines of MEGC-style questions and answers in ChatML, for training the tokenizer."""
    lines = []
    pairs = list(itertools.product(_AUS, _FINE))
    for i, (au, fine) in enumerate(pairs):
        second = _AUS[(i * 7 + 3) % len(_AUS)]
        coarse = _COARSE[i % len(_COARSE)]
        question = _QUESTIONS[i % len(_QUESTIONS)].format(au=au)
        answers = [
            coarse, fine, f"{au}, {second}", "yes" if i % 2 else "no", "left" if i % 3 else "right",
            f"The action units present are: {au}, {second}. Therefore, the fine-grained expression class is "
            f"{fine}, and the coarse expression class is {coarse}.",
            f"It starts at frame {i * 3}, peaks at frame {i * 3 + 5} and ends at frame {i * 3 + 11}.",
            f"There are {i % 4 + 1} micro-expressions.",
        ]
        lines.append(f"<|im_start|>system\n{_SYSTEM}<|im_end|>\n<|im_start|>user\n{question}<|im_end|>\n"
                     f"<|im_start|>assistant\n{answers[i % len(answers)]}<|im_end|>\n")
        lines.extend(answers)
    return lines


def train_tiny_tokenizer(vocab_size: int = 1024) -> PreTrainedTokenizerFast:
    """A byte-level BPE tokenizer trained on :func:`tiny_corpus`, with ChatML special tokens and template."""
    bpe = Tokenizer(models.BPE())
    bpe.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    bpe.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=SPECIAL_TOKENS, show_progress=False,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    bpe.train_from_iterator(tiny_corpus(), trainer)
    tokenizer = PreTrainedTokenizerFast(tokenizer_object=bpe, bos_token="<|im_start|>", eos_token="<|im_end|>",
                                        unk_token="<|endoftext|>", pad_token="<|endoftext|>")
    tokenizer.chat_template = CHATML_TEMPLATE
    return tokenizer


def tiny_llama_config(tokenizer: PreTrainedTokenizerFast, hidden_size: int = 64, num_layers: int = 2) -> LlamaConfig:
    """A small Llama config (4 heads, 2 key/value heads, tied embeddings) for ``tokenizer``'s vocabulary."""
    return LlamaConfig(
        vocab_size=len(tokenizer), hidden_size=hidden_size, intermediate_size=hidden_size * 3,
        num_hidden_layers=num_layers, num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=1024,
        tie_word_embeddings=True, bos_token_id=tokenizer.bos_token_id, eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id)


def build_tiny_llm(out_dir: str | Path, *, hidden_size: int = 64, num_layers: int = 2, vocab_size: int = 1024,
                   seed: int = 0) -> Path:
    """Write a tiny random Llama causal LM and its tokenizer to ``out_dir`` (save_pretrained); returns the folder."""
    out = Path(out_dir)
    tokenizer = train_tiny_tokenizer(vocab_size)
    config = tiny_llama_config(tokenizer, hidden_size, num_layers)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = LlamaForCausalLM(config)
    model.generation_config.pad_token_id = tokenizer.pad_token_id
    model.save_pretrained(out)
    tokenizer.save_pretrained(out)
    return out
