"""Text generation from a prompt or from input embeddings; greedy (deterministic) unless asked to sample."""

from __future__ import annotations

from typing import overload

import torch
from transformers import PreTrainedModel, PreTrainedTokenizerBase

from faceqa.errors import InvalidInputError


@overload
def generate(model: PreTrainedModel, tokenizer: PreTrainedTokenizerBase, prompt: str, *,
             max_new_tokens: int = ..., do_sample: bool = ..., temperature: float = ..., top_p: float = ...,
             **kwargs) -> str: ...


@overload
def generate(model: PreTrainedModel, tokenizer: PreTrainedTokenizerBase, prompt: list[str] | None = ..., *,
             inputs_embeds: torch.Tensor | None = ..., attention_mask: torch.Tensor | None = ...,
             max_new_tokens: int = ..., do_sample: bool = ..., temperature: float = ..., top_p: float = ...,
             **kwargs) -> list[str]: ...


@torch.inference_mode()
def generate(model: PreTrainedModel, tokenizer: PreTrainedTokenizerBase, prompt: str | list[str] | None = None, *,
             inputs_embeds: torch.Tensor | None = None, attention_mask: torch.Tensor | None = None,
             max_new_tokens: int = 64, do_sample: bool = False, temperature: float = 1.0, top_p: float = 1.0,
             **kwargs) -> str | list[str]:
    """The generated answer text (special tokens removed, stripped) for a prompt or for input embeddings.

    Give exactly one of ``prompt`` (a string -> a string; a list -> a list, left-padded as one
    batch) and ``inputs_embeds`` (``[batch, length, hidden]``, with an optional ``[batch, length]``
    ``attention_mask`` of ones and zeros for padding) -> a list. Greedy decoding by default;
    ``do_sample=True`` samples with ``temperature`` and ``top_p``. Other keyword arguments go to
    ``model.generate`` (e.g. ``min_new_tokens``, ``repetition_penalty``).
    """
    if (prompt is None) == (inputs_embeds is None):
        raise InvalidInputError("generate: give exactly one of prompt and inputs_embeds")
    if not isinstance(max_new_tokens, int) or max_new_tokens < 1:
        raise InvalidInputError(f"max_new_tokens {max_new_tokens!r}: must be a positive integer")
    options = dict(max_new_tokens=max_new_tokens, do_sample=do_sample, pad_token_id=tokenizer.pad_token_id, **kwargs)
    if do_sample:
        options.update(temperature=temperature, top_p=top_p)
    else:
        options.update(temperature=None, top_p=None, top_k=None)
    if inputs_embeds is not None:
        embeds, mask = _check_embeds(model, inputs_embeds, attention_mask)
        out = model.generate(inputs_embeds=embeds, attention_mask=mask, **options)
        return _decode(tokenizer, out)
    prompts = [prompt] if isinstance(prompt, str) else list(prompt)
    if not prompts or not all(isinstance(p, str) and p for p in prompts):
        raise InvalidInputError("generate: prompt must be a non-empty string or a list of them")
    bos = tokenizer.bos_token
    add_special = not (bos and all(p.startswith(bos) for p in prompts))
    batch = tokenizer(prompts, return_tensors="pt", padding=True, padding_side="left",
                      add_special_tokens=add_special).to(model.device)
    out = model.generate(**batch, **options)
    texts = _decode(tokenizer, out[:, batch["input_ids"].shape[1]:])
    return texts[0] if isinstance(prompt, str) else texts


def _check_embeds(model, inputs_embeds: torch.Tensor, attention_mask: torch.Tensor | None):
    """``inputs_embeds`` and its mask on the model's device and embedding dtype, shapes checked."""
    table = model.get_input_embeddings().weight
    if not isinstance(inputs_embeds, torch.Tensor) or inputs_embeds.ndim != 3:
        raise InvalidInputError("inputs_embeds: must be a tensor of shape [batch, length, hidden]")
    if inputs_embeds.shape[-1] != table.shape[-1]:
        raise InvalidInputError(
            f"inputs_embeds: hidden size {inputs_embeds.shape[-1]} does not match the model's {table.shape[-1]}")
    embeds = inputs_embeds.to(device=table.device, dtype=table.dtype)
    if attention_mask is None:
        return embeds, torch.ones(embeds.shape[:2], dtype=torch.long, device=table.device)
    if tuple(attention_mask.shape) != tuple(embeds.shape[:2]):
        raise InvalidInputError(
            f"attention_mask: shape {tuple(attention_mask.shape)} does not match inputs_embeds "
            f"{tuple(embeds.shape[:2])}")
    return embeds, attention_mask.to(table.device)


def _decode(tokenizer, token_ids: torch.Tensor) -> list[str]:
    """Decoded, stripped texts of a batch of generated token ids."""
    return [t.strip() for t in tokenizer.batch_decode(token_ids, skip_special_tokens=True)]
