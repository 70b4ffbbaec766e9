"""Write a Llama model folder (byte-level BPE tokenizer) as a float32 GGUF file, the way llama.cpp lays it out.

Used to make a small GGUF stand-in for SmolLM2 (``FACEQA_MODEL_SMOLLM2=tiny.gguf``), so the
GGUF -> safetensors cache path runs in tests in well under a second.
"""

from __future__ import annotations

import json
from pathlib import Path

import gguf
import numpy as np
from transformers import AutoModelForCausalLM, AutoTokenizer

from faceqa.errors import InvalidInputError

_LAYER_NAMES = {
    "self_attn.q_proj": "attn_q", "self_attn.k_proj": "attn_k", "self_attn.v_proj": "attn_v",
    "self_attn.o_proj": "attn_output", "mlp.gate_proj": "ffn_gate", "mlp.up_proj": "ffn_up",
    "mlp.down_proj": "ffn_down", "input_layernorm": "attn_norm", "post_attention_layernorm": "ffn_norm",
}
_CONTROL, _NORMAL = 3, 1  # llama.cpp token types


def export_llama_gguf(model_dir: str | Path, out_file: str | Path) -> Path:
    """Write the Llama model in ``model_dir`` (with a BPE ``tokenizer.json``) to ``out_file`` as F32 GGUF."""
    model_dir, out_file = Path(model_dir), Path(out_file)
    model = AutoModelForCausalLM.from_pretrained(model_dir)
    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    cfg = model.config
    if cfg.model_type != "llama":
        raise InvalidInputError(f"model {model_dir}: GGUF export supports llama models, not {cfg.model_type}")
    spec = json.loads((model_dir / "tokenizer.json").read_text())
    if spec["model"]["type"] != "BPE":
        raise InvalidInputError(f"model {model_dir}: GGUF export supports BPE tokenizers only")
    writer = gguf.GGUFWriter(out_file, "llama")
    writer.add_name(model_dir.name)
    writer.add_file_type(gguf.LlamaFileType.ALL_F32)
    writer.add_context_length(cfg.max_position_embeddings)
    writer.add_embedding_length(cfg.hidden_size)
    writer.add_block_count(cfg.num_hidden_layers)
    writer.add_feed_forward_length(cfg.intermediate_size)
    writer.add_head_count(cfg.num_attention_heads)
    writer.add_head_count_kv(cfg.num_key_value_heads)
    writer.add_layer_norm_rms_eps(cfg.rms_norm_eps)
    writer.add_rope_freq_base(cfg.rope_parameters["rope_theta"])
    writer.add_rope_dimension_count(cfg.head_dim)
    writer.add_vocab_size(cfg.vocab_size)
    _add_tokenizer(writer, tokenizer, spec)
    for name, tensor in model.state_dict().items():
        if name == "lm_head.weight" and cfg.tie_word_embeddings:
            continue
        gguf_name, array = _gguf_tensor(name, tensor.float().numpy(), cfg)
        writer.add_tensor(gguf_name, np.ascontiguousarray(array))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return out_file


def _add_tokenizer(writer: gguf.GGUFWriter, tokenizer, spec: dict) -> None:
    """The tokenizer as GGUF metadata: "gpt2" (byte-level BPE) tokens, types, merges, special ids, template."""
    vocab = spec["model"]["vocab"]
    tokens = sorted(vocab, key=vocab.get)
    specials = {t["content"] for t in spec["added_tokens"] if t.get("special")}
    writer.add_tokenizer_model("gpt2")
    writer.add_tokenizer_pre("default")
    writer.add_token_list(tokens)
    writer.add_token_types([_CONTROL if t in specials else _NORMAL for t in tokens])
    writer.add_token_merges([m if isinstance(m, str) else " ".join(m) for m in spec["model"]["merges"]])
    for token_id, add in [(tokenizer.bos_token_id, writer.add_bos_token_id),
                          (tokenizer.eos_token_id, writer.add_eos_token_id),
                          (tokenizer.unk_token_id, writer.add_unk_token_id),
                          (tokenizer.pad_token_id, writer.add_pad_token_id)]:
        if token_id is not None:
            add(token_id)
    if tokenizer.chat_template:
        writer.add_chat_template(tokenizer.chat_template)


def _gguf_tensor(name: str, array: np.ndarray, cfg) -> tuple[str, np.ndarray]:
    """The GGUF name of a transformers Llama weight, and the array (q/k rows permuted as llama.cpp does)."""
    if name == "model.embed_tokens.weight":
        return "token_embd.weight", array
    if name == "model.norm.weight":
        return "output_norm.weight", array
    if name == "lm_head.weight":
        return "output.weight", array
    _, _, layer, rest = name.split(".", 3)
    module, kind = rest.rsplit(".", 1)
    if module == "self_attn.q_proj":
        array = _permute_rope(array, cfg.num_attention_heads)
    elif module == "self_attn.k_proj":
        array = _permute_rope(array, cfg.num_key_value_heads)
    return f"blk.{layer}.{_LAYER_NAMES[module]}.{kind}", array


def _permute_rope(weight: np.ndarray, heads: int) -> np.ndarray:
    """llama.cpp's q/k row order: each head's two rotary halves interleaved."""
    return weight.reshape(heads, 2, weight.shape[0] // heads // 2, *weight.shape[1:]).swapaxes(1, 2).reshape(
        weight.shape)
