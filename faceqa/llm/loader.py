"""Load any Hugging Face causal LM (local folder or hub id) with its tokenizer.

Device and dtype are chosen automatically unless given: CUDA, then Apple MPS, then CPU;
bfloat16 on CUDA where supported (float16 otherwise and on MPS), float32 on CPU. 4-bit (NF4,
double quantisation) and 8-bit loading go through bitsandbytes, which runs on CPU as well as
CUDA. Hub ids need network access or a copy in the local Hugging Face cache.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import torch
from transformers import AutoModelForCausalLM, AutoTokenizer, PreTrainedModel, PreTrainedTokenizerBase

from faceqa.errors import InvalidInputError, ModelUnavailableError

Quantization = Literal["4bit", "8bit"]
QUANTIZATIONS = ("4bit", "8bit")
_DTYPE_NAMES = {
    "float32": torch.float32, "fp32": torch.float32,
    "float16": torch.float16, "fp16": torch.float16, "half": torch.float16,
    "bfloat16": torch.bfloat16, "bf16": torch.bfloat16,
}


def resolve_device(device: str | torch.device = "auto") -> torch.device:
    """The torch device for ``device``: "auto" picks CUDA, then MPS, then CPU."""
    if isinstance(device, torch.device):
        return device
    if device == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError):
        raise InvalidInputError(f"device {device!r}: not a torch device (use auto, cpu, cuda, cuda:1, mps)") from None
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise InvalidInputError(f"device {device!r}: CUDA is not available on this machine")
    if dev.type == "mps" and not torch.backends.mps.is_available():
        raise InvalidInputError(f"device {device!r}: MPS is not available on this machine")
    return dev


def resolve_dtype(dtype: str | torch.dtype | None, device: torch.device,
                  quantization: Quantization | None = None) -> torch.dtype:
    """The torch dtype for ``dtype`` ("auto"/None, a name such as "bf16", or a torch dtype) on ``device``.

    "auto" is float16 for 8-bit models (bitsandbytes' int8 kernels take float16 inputs), else
    bfloat16 on CUDA where supported, float16 on other accelerators and float32 on CPU.
    """
    if isinstance(dtype, torch.dtype):
        if not dtype.is_floating_point:
            raise InvalidInputError(f"dtype {dtype}: not a floating-point dtype")
        return dtype
    if dtype is None or dtype == "auto":
        if quantization == "8bit":
            return torch.float16
        if device.type == "cuda":
            return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
        return torch.float32 if device.type == "cpu" else torch.float16
    try:
        return _DTYPE_NAMES[str(dtype).lower()]
    except KeyError:
        raise InvalidInputError(f"dtype {dtype!r}: use auto, {', '.join(_DTYPE_NAMES)}") from None


def quantization_config(quantization: Quantization | None, dtype: torch.dtype):
    """The ``BitsAndBytesConfig`` for "4bit" (NF4, double quantisation, computing in ``dtype``) or "8bit"."""
    if quantization is None:
        return None
    if quantization not in QUANTIZATIONS:
        raise InvalidInputError(f"quantization {quantization!r}: use None, '4bit' or '8bit'")
    try:
        import bitsandbytes  # noqa: F401
    except ImportError:
        raise ModelUnavailableError(
            f"quantization {quantization!r} needs bitsandbytes: run `pip install 'faceqa[quant]'`") from None
    from transformers import BitsAndBytesConfig

    if quantization == "4bit":
        return BitsAndBytesConfig(load_in_4bit=True, bnb_4bit_quant_type="nf4", bnb_4bit_use_double_quant=True,
                                  bnb_4bit_compute_dtype=dtype)
    return BitsAndBytesConfig(load_in_8bit=True)


def load_causal_lm(name_or_path: str | Path, dtype: str | torch.dtype | None = "auto",
                   device: str | torch.device = "auto", quantization: Quantization | None = None,
                   trust_remote_code: bool = False) -> tuple[PreTrainedModel, PreTrainedTokenizerBase]:
    """Load a causal LM and its tokenizer from a model folder or a hub id, in eval mode.

    Raises ModelUnavailableError when the folder or hub id cannot be found (offline, not in
    the local Hugging Face cache), InvalidInputError for bad arguments or a non-causal-LM model.
    The tokenizer gets a pad token (its EOS) when it has none.
    """
    dev = resolve_device(device)
    dt = resolve_dtype(dtype, dev, quantization)
    qconfig = quantization_config(quantization, dt)
    source = _model_source(name_or_path)
    try:
        return load_pretrained(source, dt, dev, qconfig, trust_remote_code)
    except OSError as err:
        raise ModelUnavailableError(f"model {name_or_path}: cannot load ({_first_line(err)})") from None
    except ValueError as err:
        raise InvalidInputError(f"model {name_or_path}: not loadable as a causal LM ({_first_line(err)})") from None


def load_pretrained(source: str, dtype: torch.dtype, device: torch.device, qconfig=None,
                    trust_remote_code: bool = False) -> tuple[PreTrainedModel, PreTrainedTokenizerBase]:
    """``from_pretrained`` for model and tokenizer with resolved arguments; errors pass through unchanged."""
    place = qconfig is not None or device.type != "cpu"
    model = AutoModelForCausalLM.from_pretrained(
        source, dtype=dtype, quantization_config=qconfig, device_map={"": device} if place else None,
        trust_remote_code=trust_remote_code)
    tokenizer = AutoTokenizer.from_pretrained(source, trust_remote_code=trust_remote_code)
    if tokenizer.pad_token is None and tokenizer.eos_token is not None:
        tokenizer.pad_token = tokenizer.eos_token
    if model.generation_config.pad_token_id is None:
        model.generation_config.pad_token_id = tokenizer.pad_token_id
    model.eval()
    return model, tokenizer


def _model_source(name_or_path: str | Path) -> str:
    """A local model folder as a string, or the hub id; raises for a path that is not a model folder."""
    text = str(name_or_path)
    path = Path(text).expanduser()
    if path.is_dir():
        if not (path / "config.json").is_file():
            raise ModelUnavailableError(f"model folder {path}: no config.json (not a Hugging Face model folder)")
        return str(path)
    if path.exists():
        raise InvalidInputError(f"model {path}: is a file; pass the model folder (with config.json)")
    if isinstance(name_or_path, Path) or _looks_like_path(text):
        raise ModelUnavailableError(f"model folder {path}: does not exist")
    return text


def _looks_like_path(text: str) -> bool:
    """True for text that can only be a file system path, never a hub id ("org/name" or "name")."""
    return text.startswith(("/", ".", "~")) or text.count("/") > 1 or "\\" in text


def _first_line(err: BaseException) -> str:
    """The first non-empty line of an exception's message."""
    lines = [line.strip() for line in str(err).splitlines() if line.strip()]
    return lines[0] if lines else type(err).__name__
