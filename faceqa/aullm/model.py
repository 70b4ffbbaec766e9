"""AULLM++: content and instruction tokens from facial evidence, injected into a LoRA-tuned LLM.

``forward`` builds, per sample, the prompt's prefix (system text, the ``k`` content tokens from
:class:`~faceqa.aullm.projector.MGEEFP`, the ``m`` instruction tokens from
:class:`~faceqa.aullm.graph.RAUGNN`), the question and the answer, as input embeddings; the loss is
the language-model loss on the answer tokens, plus the asymmetric loss of the graph's AU head,
plus counterfactual consistency (:mod:`faceqa.aullm.ccr`). ``answer`` runs the shared prefix once
per clip and reuses its KV cache for every question (greedy decoding).
"""

from __future__ import annotations

import copy

import torch
from torch import nn

from faceqa.aullm.config import AULLMConfig
from faceqa.aullm.features import HIGH_DIM, MID_DIM, NODE_DIM, EvidenceFeatures
from faceqa.aullm.graph import RAUGNN
from faceqa.aullm.losses import asymmetric_loss
from faceqa.aullm.projector import MGEEFP
from faceqa.aullm.prompt import Layout, build_layout, prompt_path
from faceqa.evidence.regions import region_keys


class AULLM(nn.Module):
    """The whole model: ``llm`` (a causal LM, LoRA-wrapped for training), ``projector``, ``gnn``."""

    def __init__(self, llm, tokenizer, config: AULLMConfig, prior, prompt_text: str | None = None):
        super().__init__()
        self.config = config
        self.llm = llm
        self.tokenizer = tokenizer
        self.node_aus = tuple(int(a) for a in prior.aus)
        dim = llm.get_input_embeddings().embedding_dim
        self.vision = None
        if config.vision_encoder:
            from faceqa.aullm.vision import FaceVisionEncoder, load_vision_model

            self.vision = FaceVisionEncoder(load_vision_model(config.vision_encoder), config.vision_trainable)
        self.projector = MGEEFP(len(region_keys()), MID_DIM, HIGH_DIM, dim, config.hidden, config.n_content_tokens,
                                vision_dim=self.vision.dim if self.vision is not None else 0)
        self.gnn = RAUGNN(prior.edge_index, prior.edge_weight, NODE_DIM, dim, config.hidden,
                          config.n_instruction_tokens)
        self.register_buffer("au_name_embeds", self._au_name_embeddings(), persistent=False)
        self.prompt_text = prompt_text or prompt_path(config.prompt).read_text()
        self.layout: Layout = build_layout(tokenizer, self.prompt_text)
        end = tokenizer.convert_tokens_to_ids("<|im_end|>")
        self.answer_end = end if isinstance(end, int) and end >= 0 else tokenizer.eos_token_id
        """The token that ends an answer in training (the chat turn's end, else EOS)."""
        self.eos_ids = {i for i in (tokenizer.eos_token_id, self.answer_end) if isinstance(i, int) and i >= 0}

    def _au_name_embeddings(self) -> torch.Tensor:
        """(N, D) mean input embedding of each AU node's MEGC name ("lip corner puller"), from the base LLM."""
        from faceqa.evidence.facs import au_by_number

        emb = self.llm.get_input_embeddings()
        rows = []
        with torch.no_grad():
            for au in self.node_aus:
                ids = self.tokenizer(" " + au_by_number(au).name, add_special_tokens=False)["input_ids"]
                rows.append(emb(torch.tensor(ids, device=emb.weight.device)).float().mean(0))
        return torch.stack(rows)

    @property
    def device(self) -> torch.device:
        """Where the projector's weights live (inputs go there)."""
        return next(self.projector.parameters()).device

    def evidence_tokens(self, feats: EvidenceFeatures) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """(content tokens (B, k, D), instruction tokens (B, m, D), AU logits (B, N)) for batched features.

        Each instruction token is anchored in the LLM's vocabulary: the graph's output plus the mean
        of the AU names' word embeddings weighted by the AU head's probabilities, so the LLM reads
        which AUs the evidence shows in words it already knows.
        """
        feats = feats.to(self.device)
        vision = self.vision(feats.crops) if self.vision is not None and feats.crops is not None else None
        ct = self.projector(feats.mid, feats.high, vision)
        it, logits = self.gnn(feats.nodes)
        probs = torch.sigmoid(logits)
        anchor = probs @ self.au_name_embeds / probs.sum(dim=1, keepdim=True).clamp(min=1.0)
        return ct, it + anchor.unsqueeze(1).to(it.dtype), logits

    def _embed(self, ids: list[int]) -> torch.Tensor:
        emb = self.llm.get_input_embeddings()
        return emb(torch.tensor(ids, dtype=torch.long, device=emb.weight.device))

    def prefix_embeds(self, ct: torch.Tensor, it: torch.Tensor) -> torch.Tensor:
        """(L, D) prefix embeddings for one sample's content and instruction tokens."""
        dtype = self.llm.get_input_embeddings().weight.dtype
        parts = []
        for piece in self.layout.prefix:
            if piece == "content":
                parts.append(ct.to(dtype))
            elif piece == "instruction":
                parts.append(it.to(dtype))
            else:
                parts.append(self._embed(piece))
        return torch.cat(parts, dim=0)

    def _sequences(self, ct, it, questions: list[str], answers: list[str]):
        embeds, labels = [], []
        for b, (q, a) in enumerate(zip(questions, answers, strict=True)):
            prefix = self.prefix_embeds(ct[b], it[b])
            suffix = self.layout.suffix_ids(self.tokenizer, q)
            answer = self.tokenizer(a, add_special_tokens=False)["input_ids"] + [self.answer_end]
            rest = self._embed(suffix + answer)
            embeds.append(torch.cat([prefix, rest], dim=0))
            labels.append([-100] * (len(prefix) + len(suffix)) + answer)
        return embeds, labels

    def forward(self, feats: EvidenceFeatures, questions: list[str], answers: list[str],
                au_targets: torch.Tensor | None = None, counterfactual: EvidenceFeatures | None = None,
                counterfactual_targets: torch.Tensor | None = None,
                ccr_mask: torch.Tensor | None = None) -> dict[str, torch.Tensor]:
        """Losses for a batch: ``loss`` (total), ``lm``, ``au``, ``ccr`` (and the AU ``logits``).

        ``counterfactual`` is the same batch with evidence changed (AUs masked or swapped),
        ``counterfactual_targets`` its AU labels, ``ccr_mask`` marks the samples whose answer the
        change contradicts (see :mod:`faceqa.aullm.ccr`).
        """
        ct, it, logits = self.evidence_tokens(feats)
        lm, per_sample = self._lm_loss(ct, it, questions, answers)
        out = {"lm": lm, "logits": logits}
        total = lm
        if au_targets is not None and self.config.au_weight:
            out["au"] = asymmetric_loss(logits, au_targets.to(logits.device))
            total = total + self.config.au_weight * out["au"]
        if counterfactual is not None and self.config.ccr_weight:
            from faceqa.aullm.ccr import consistency_loss

            ct_c, it_c, logits_c = self.evidence_tokens(counterfactual)
            _, per_sample_c = self._lm_loss(ct_c, it_c, questions, answers)
            out["ccr"] = consistency_loss(per_sample, per_sample_c, logits_c, counterfactual_targets, ccr_mask,
                                          self.config.ccr_margin)
            total = total + self.config.ccr_weight * out["ccr"]
        out["loss"] = total
        return out

    def _lm_loss(self, ct, it, questions, answers) -> tuple[torch.Tensor, torch.Tensor]:
        embeds, labels = self._sequences(ct, it, questions, answers)
        length = max(len(e) for e in embeds)
        dim = embeds[0].shape[-1]
        batch = embeds[0].new_zeros(len(embeds), length, dim)
        mask = torch.zeros(len(embeds), length, dtype=torch.long, device=batch.device)
        target = torch.full((len(embeds), length), -100, dtype=torch.long, device=batch.device)
        for i, (e, lab) in enumerate(zip(embeds, labels, strict=True)):
            batch[i, :len(e)] = e
            mask[i, :len(e)] = 1
            target[i, :len(lab)] = torch.tensor(lab, device=batch.device)
        logits = self.llm(inputs_embeds=batch, attention_mask=mask).logits[:, :-1].float()
        tgt = target[:, 1:]
        nll = nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]), tgt.reshape(-1), ignore_index=-100,
                                          reduction="none").view(tgt.shape)
        counts = (tgt != -100).sum(1).clamp(min=1)
        per_sample = nll.sum(1) / counts
        return nll.sum() / counts.sum(), per_sample

    @torch.inference_mode()
    def answer(self, feats: EvidenceFeatures, questions: list[str], max_new_tokens: int | None = None) -> list[str]:
        """Greedy answers to several questions about one clip; the evidence prefix is computed once."""
        if feats.mid.dim() == 2:
            feats = EvidenceFeatures(feats.mid[None], feats.high[None], feats.nodes[None],
                                     feats.crops[None] if feats.crops is not None else None)
        ct, it, _ = self.evidence_tokens(feats)
        prefix = self.prefix_embeds(ct[0], it[0]).unsqueeze(0)
        cache = self.llm(inputs_embeds=prefix, use_cache=True).cache
        limit = max_new_tokens or self.config.max_new_tokens
        answers = []
        for q in questions:
            ids = self.layout.suffix_ids(self.tokenizer, q)
            step = self.llm(inputs_embeds=self._embed(ids).unsqueeze(0), cache=copy.deepcopy(cache), use_cache=True)
            generated: list[int] = []
            for _ in range(limit):
                token = int(step.logits[0, -1].argmax())
                if token in self.eos_ids:
                    break
                generated.append(token)
                nxt = torch.tensor([[token]], device=prefix.device)
                step = self.llm(input_ids=nxt, cache=step.cache, use_cache=True)
            answers.append(self.tokenizer.decode(generated, skip_special_tokens=True).strip())
        return answers
