"""Adapter bundles: everything trained, in one folder, with ``save_pretrained`` / ``from_pretrained``.

Folder layout (like peft's, plus faceqa's own parts)::

    bundle/
      config.json            AULLMConfig (base model, token counts, LoRA, loss weights), with the feature
                             dimensions the model was built with and the sha256 of its AU relation prior
      adapter/               the peft LoRA adapter (adapter_config.json, adapter_model.safetensors)
      evidence.safetensors   MGE-EFP projector and R-AUGNN weights (prefixes "projector.", "gnn."), and
                             the vision encoder's when it was fine-tuned ("vision.")
      prompt.txt             the prompt template the bundle was trained with (its version is its name)
      prior.json             sha256 of the AU relation prior whose node order the graph uses
      vocab.json             class vocabularies per dataset seen in training (optional; generic without)
      calibration.json       the LLM's class priors its class answers divide out (optional; see
                             faceqa.aullm.calibration)
      scores.json            held-out scores, LLM and composer side by side, and the routing table (optional)
      heldout.jsonl          every held-out answer behind scores.json (optional)
      README.md              the model card (optional)

The base model is not copied: ``config.base_model`` names it (``"smollm2"``: the embedded default).

Loading checks the bundle against this faceqa (:func:`check_bundle`): a bundle whose recorded
feature dimensions or AU prior hash differ raises :class:`~faceqa.errors.IncompatibleBundleError`
naming what differs; a bundle that records neither (made before they were recorded) is not checked.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import replace
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file

from faceqa.aullm.calibration import load_calibration
from faceqa.aullm.config import AULLMConfig
from faceqa.aullm.features import feature_dims
from faceqa.aullm.model import AULLM
from faceqa.errors import IncompatibleBundleError, InvalidInputError, ModelUnavailableError
from faceqa.facs.au_graph import PRIOR_PATH


def load_base(config: AULLMConfig, device: str | None = None):
    """(llm, tokenizer) for ``config.base_model``, in ``config.dtype`` with ``config.attention``."""
    if config.base_model == "smollm2":
        from faceqa.llm import load_smollm2

        llm, tokenizer = load_smollm2(dtype=config.dtype, device=device, quantization=config.quantization)
    else:
        from faceqa.llm import load_causal_lm

        llm, tokenizer = load_causal_lm(config.base_model, dtype=config.dtype or "auto", device=device or "auto",
                                        quantization=config.quantization)
    if config.attention:
        llm.set_attn_implementation(config.attention)
    return llm, tokenizer


def prior_sha256() -> str:
    """The sha256 of the AU relation prior file the graph is built on (``faceqa/data/au_relation_prior.json``)."""
    return hashlib.sha256(PRIOR_PATH.read_bytes()).hexdigest()


def check_bundle(folder: str | Path, config: AULLMConfig) -> None:
    """Refuse a bundle built for other feature dimensions or another AU prior than this faceqa's.

    Raises IncompatibleBundleError naming the bundle and each difference; a field the bundle does
    not record (older bundles) is not checked.
    """
    problems = []
    if config.features is not None:
        here = feature_dims()
        problems += [f"feature dimension {k!r} is {config.features.get(k)} in the bundle, {here.get(k)} here"
                     for k in sorted(set(config.features) | set(here)) if config.features.get(k) != here.get(k)]
    if config.au_prior_sha256 is not None and config.au_prior_sha256 != (sha := prior_sha256()):
        problems.append(f"the AU relation prior ({PRIOR_PATH.name}) has sha256 {config.au_prior_sha256} in the "
                        f"bundle, {sha} here")
    if problems:
        raise IncompatibleBundleError(f"{folder}: bundle built for another faceqa: {'; '.join(problems)} "
                                      "(retrain the bundle, or use the faceqa it was trained with)")


def create_model(config: AULLMConfig, llm=None, tokenizer=None, lora: bool = True) -> AULLM:
    """A fresh AULLM++ (random projector and graph, new LoRA adapter) on the base model."""
    from peft import LoraConfig, get_peft_model

    from faceqa.facs.au_graph import load_au_relation_prior

    if llm is None:
        llm, tokenizer = load_base(config)
    if config.quantization:
        from peft import prepare_model_for_kbit_training

        llm = prepare_model_for_kbit_training(llm)
    if lora:
        llm = get_peft_model(llm, LoraConfig(r=config.lora_r, lora_alpha=config.lora_alpha,
                                             lora_dropout=config.lora_dropout, target_modules=list(config.lora_targets),
                                             task_type="CAUSAL_LM"))
    model = AULLM(llm, tokenizer, config, load_au_relation_prior())
    return model.to(llm.device) if not config.quantization else model


def save_pretrained(model: AULLM, folder: str | Path, scores: dict | None = None, card: str | None = None,
                    vocab: dict | None = None, heldout: list[dict] | None = None) -> Path:
    """Write the bundle folder (see the module docstring); ``vocab``: dataset -> ClassVocab dict."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    replace(model.config, features=feature_dims(), au_prior_sha256=prior_sha256()).save(folder / "config.json")
    model.llm.save_pretrained(folder / "adapter", save_embedding_layers=False)
    state = {f"projector.{k}": v.detach().cpu().contiguous() for k, v in model.projector.state_dict().items()}
    state |= {f"gnn.{k}": v.detach().cpu().contiguous() for k, v in model.gnn.state_dict().items()}
    if model.vision is not None and model.config.vision_trainable:
        state |= {f"vision.{k}": v.detach().cpu().contiguous() for k, v in model.vision.state_dict().items()}
    save_file(state, folder / "evidence.safetensors")
    (folder / "prompt.txt").write_text(model.prompt_text)
    (folder / "prior.json").write_text(json.dumps(
        {"file": PRIOR_PATH.name, "sha256": prior_sha256(), "aus": list(model.node_aus)}, indent=2) + "\n")
    if vocab is not None:
        (folder / "vocab.json").write_text(json.dumps(vocab, indent=2) + "\n")
    if heldout is not None:
        (folder / "heldout.jsonl").write_text("".join(json.dumps(r) + "\n" for r in heldout))
    if scores is not None:
        (folder / "scores.json").write_text(json.dumps(scores, indent=2) + "\n")
    if card is not None:
        (folder / "README.md").write_text(card)
    return folder


def from_pretrained(folder: str | Path, llm=None, tokenizer=None, device: str | None = None,
                    trainable: bool = False) -> AULLM:
    """Load a bundle onto its base model (loaded here unless ``llm``/``tokenizer`` are given)."""
    from peft import PeftModel

    from faceqa.facs.au_graph import load_au_relation_prior

    folder = Path(folder)
    for part in ("config.json", "adapter", "evidence.safetensors", "prompt.txt", "prior.json"):
        if not (folder / part).exists():
            raise ModelUnavailableError(f"{folder}: not an AULLM++ bundle (missing {part})")
    config = AULLMConfig.load(folder / "config.json")
    check_bundle(folder, config)
    prior = load_au_relation_prior()
    saved = json.loads((folder / "prior.json").read_text())
    if tuple(saved["aus"]) != tuple(int(a) for a in prior.aus):
        raise InvalidInputError(f"{folder}: trained on AU nodes {saved['aus']}, this faceqa has {list(prior.aus)}")
    if llm is None:
        llm, tokenizer = load_base(config, device)
    llm = PeftModel.from_pretrained(llm, folder / "adapter", is_trainable=trainable)
    model = AULLM(llm, tokenizer, config, prior, prompt_text=(folder / "prompt.txt").read_text())
    state = load_file(folder / "evidence.safetensors")
    model.projector.load_state_dict({k[len("projector."):]: v for k, v in state.items() if k.startswith("projector.")})
    model.gnn.load_state_dict({k[len("gnn."):]: v for k, v in state.items() if k.startswith("gnn.")})
    if model.vision is not None and config.vision_trainable:
        model.vision.load_state_dict({k[len("vision."):]: v for k, v in state.items() if k.startswith("vision.")})
    model.to(next(llm.parameters()).device)
    model.decoder().calibration = load_calibration(folder)
    if not trainable:
        model.eval()
    return model


def trainable_parameters(model: AULLM) -> list[torch.nn.Parameter]:
    """The parameters training updates: LoRA weights, projector and graph."""
    return [p for p in model.parameters() if p.requires_grad]
