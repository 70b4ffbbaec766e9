"""The AULLM++ configuration: one dataclass, saved as ``config.json`` in every adapter bundle."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

from faceqa.errors import InvalidInputError


@dataclass
class AULLMConfig:
    """Everything that defines an AULLM++ model besides its weights.

    Attributes:
        base_model: ``"smollm2"`` (the embedded default) or a Hugging Face model path / hub id.
        prompt: prompt template name under ``prompts/``.
        n_content_tokens, n_instruction_tokens: CT and IT counts.
        hidden: width of the projector and the graph network.
        lora_r, lora_alpha, lora_dropout, lora_targets: the LoRA adapter (AU-LLM: r=16, alpha=32, q/v).
        au_weight: weight of the asymmetric AU loss beside the language-model loss.
        ccr_weight: weight of the counterfactual consistency regularisation (0 turns it off).
        ccr_margin: log-likelihood margin the original evidence must keep over the counterfactual.
        max_new_tokens: answer length cap at inference.
        quantization: None, "4bit" or "8bit" (QLoRA through bitsandbytes).
        vision_encoder: a Hugging Face image/video encoder (path or hub id) for the aligned face
            crops, or None (motion and semantics only); ``vision_trainable`` fine-tunes it.
        dtype: the base model's weights: None (float32 on CPU, bfloat16 on a GPU that has it),
            ``"bfloat16"``, ``"float16"`` or ``"float32"``. On CPUs with AVX-512 BF16, bfloat16
            runs the matrix products about 4x faster than float32; LoRA, projector and graph
            weights stay float32 either way.
        attention: the base model's attention implementation (``"eager"``, ``"sdpa"``; None:
            the model's default). Training packs a clip's questions behind a block mask, which
            eager attention runs about 1.5x faster than SDPA on CPU.
        features: the evidence-feature dimensions the model was built with
            (:func:`~faceqa.aullm.features.feature_dims`), and ``au_prior_sha256`` the sha256 of the AU
            relation prior file its graph was built on. :func:`~faceqa.aullm.bundle.save_pretrained`
            records both; :func:`~faceqa.aullm.bundle.from_pretrained` refuses a bundle whose
            records differ from this faceqa's. None (older bundles): not checked.
    """

    base_model: str = "smollm2"
    prompt: str = "aullm_v2"
    n_content_tokens: int = 4
    n_instruction_tokens: int = 2
    hidden: int = 128
    lora_r: int = 16
    lora_alpha: int = 32
    lora_dropout: float = 0.05
    lora_targets: list[str] = field(default_factory=lambda: ["q_proj", "v_proj"])
    au_weight: float = 1.0
    ccr_weight: float = 0.5
    ccr_margin: float = 1.0
    max_new_tokens: int = 48
    quantization: str | None = None
    vision_encoder: str | None = None
    vision_trainable: bool = False
    dtype: str | None = None
    attention: str | None = None
    features: dict[str, int] | None = None
    au_prior_sha256: str | None = None

    def save(self, path: str | Path) -> None:
        """Write this config as JSON."""
        Path(path).write_text(json.dumps(asdict(self), indent=2) + "\n")

    @classmethod
    def load(cls, path: str | Path) -> AULLMConfig:
        """Read a config JSON, refusing unknown keys (they would be silently ignored otherwise)."""
        data = json.loads(Path(path).read_text())
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise InvalidInputError(f"{path}: unknown AULLM config keys {unknown}")
        return cls(**data)
