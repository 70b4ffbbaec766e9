"""AULLM++: content and instruction tokens from facial evidence, injected into a LoRA-tuned LLM.

``forward`` builds, per clip, the prompt's prefix (system text, the ``k`` content tokens from
:class:`~faceqa.aullm.projector.MGEEFP`, the ``m`` instruction tokens from
:class:`~faceqa.aullm.graph.RAUGNN`, and with prompt version 2 the premises as text,
:mod:`~faceqa.aullm.premises`), then every question asked about that clip with its answer, as
input embeddings. The questions of one clip are *packed* into one row after one copy of the
prefix: a block attention mask lets each question and answer see the prefix and itself only, and
position ids restart after the prefix for each, so each answer is scored exactly as if it were
alone after the prefix (as at inference), while the prefix is computed once. The loss is the
language-model loss on the answer tokens (the mean over questions of each answer's mean token
loss; the vocabulary projection is computed only where an answer token is predicted), plus the
asymmetric loss of the graph's AU head, plus counterfactual consistency (:mod:`faceqa.aullm.ccr`).
``answer`` runs the shared prefix once per clip, reuses its KV cache for every question, and
decodes closed-set questions under constraints (:mod:`faceqa.aullm.decoding`).
"""

from __future__ import annotations

import copy
from collections.abc import Sequence

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
        from faceqa.facs.units import au_by_number

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

    @property
    def uses_premises(self) -> bool:
        """The prompt (version 2 and later) reads the premises as text."""
        return self.layout.has_premises

    def prefix_embeds(self, ct: torch.Tensor, it: torch.Tensor, premises: str = "") -> torch.Tensor:
        """(L, D) prefix embeddings for one clip's content and instruction tokens (and premises text)."""
        dtype = self.llm.get_input_embeddings().weight.dtype
        parts = []
        for piece in self.layout.prefix:
            if piece == "content":
                parts.append(ct.to(dtype))
            elif piece == "instruction":
                parts.append(it.to(dtype))
            elif piece == "premises":
                ids = self.tokenizer(premises or "AUs: none.", add_special_tokens=False)["input_ids"]
                parts.append(self._embed(ids))
            else:
                parts.append(self._embed(piece))
        return torch.cat(parts, dim=0)

    @torch.no_grad()
    def au_probabilities(self, feats: EvidenceFeatures) -> torch.Tensor:
        """(B, N) probabilities of the graph's AU head (evaluation mode, no gradient): what the premises state."""
        feats = feats.to(self.device)
        was = self.gnn.training
        self.gnn.eval()
        try:
            _, logits = self.gnn(feats.nodes)
        finally:
            self.gnn.train(was)
        return torch.sigmoid(logits.float())

    def _decoder_parts(self):
        core = self.llm.get_base_model() if hasattr(self.llm, "get_base_model") else self.llm
        return core.get_decoder(), core.get_output_embeddings()

    def packed_nll(self, ct: torch.Tensor, it: torch.Tensor, premises: Sequence[str], questions: Sequence[str],
                   answers: Sequence[str], groups: Sequence[int], candidates: Sequence[str] | None = None,
                   items: Sequence[int] | None = None) -> torch.Tensor:
        """Mean answer-token NLL of each item (question ``i`` about clip ``groups[i]``), as (len(items),).

        One row per clip: its prefix once, then each of its questions with its answer; a block mask
        keeps the questions apart (see the module docstring). ``items`` selects the questions scored.
        """
        items = list(range(len(questions))) if items is None else list(items)
        cands = candidates if candidates is not None else [""] * len(questions)
        rows: dict[int, list[int]] = {}
        for i in items:
            rows.setdefault(int(groups[i]), []).append(i)
        dtype = self.llm.get_input_embeddings().weight.dtype
        seqs, spans, targets = [], [], []  # per row: embeds; (start, end) per branch; (position, token, item)
        for b, its in rows.items():
            prefix = self.prefix_embeds(ct[b], it[b], premises[b] if premises else "")
            lp = len(prefix)
            ids: list[int] = []
            branch_spans, row_targets = [], []
            for i in its:
                suffix = self.layout.suffix_ids(self.tokenizer, questions[i], cands[i])
                answer = self.tokenizer(answers[i], add_special_tokens=False)["input_ids"]
                start = lp + len(ids)
                tokens = suffix + answer
                ids += tokens
                want = answer + [self.answer_end]
                first = start + len(suffix) - 1
                row_targets += [(first + j, t, i) for j, t in enumerate(want)]
                branch_spans.append((start, start + len(tokens)))
            seqs.append(torch.cat([prefix, self._embed(ids).to(dtype)], dim=0))
            spans.append((lp, branch_spans))
            targets.append(row_targets)
        length = max(len(s) for s in seqs)
        dev = seqs[0].device
        batch = seqs[0].new_zeros(len(seqs), length, seqs[0].shape[-1])
        mask = torch.zeros(len(seqs), 1, length, length, dtype=torch.bool, device=dev)
        pos = torch.zeros(len(seqs), length, dtype=torch.long, device=dev)
        causal = torch.ones(length, length, dtype=torch.bool, device=dev).tril()
        for r, (seq, (lp, branches)) in enumerate(zip(seqs, spans, strict=True)):
            batch[r, :len(seq)] = seq
            mask[r, 0, :lp, :lp] = causal[:lp, :lp]
            pos[r, :lp] = torch.arange(lp, device=dev)
            for s, e in branches:
                mask[r, 0, s:e, :lp] = True
                mask[r, 0, s:e, s:e] = causal[:e - s, :e - s]
                pos[r, s:e] = torch.arange(lp, lp + e - s, device=dev)
            idx = torch.arange(len(seq), length, device=dev)
            mask[r, 0, idx, idx] = True  # padding attends to itself only (no empty softmax rows)
        decoder, head = self._decoder_parts()
        additive = torch.zeros(mask.shape, dtype=batch.dtype, device=dev).masked_fill(~mask,
                                                                                      torch.finfo(batch.dtype).min)
        hidden = decoder(inputs_embeds=batch, attention_mask=additive, position_ids=pos).last_hidden_state
        rr = torch.tensor([r for r, ts in enumerate(targets) for _ in ts], device=dev)
        pp = torch.tensor([p for ts in targets for p, _, _ in ts], device=dev)
        tt = torch.tensor([t for ts in targets for _, t, _ in ts], device=dev)
        owner = torch.tensor([items.index(i) for ts in targets for _, _, i in ts], device=dev)
        logits = head(hidden[rr, pp]).float()
        nll = nn.functional.cross_entropy(logits, tt, reduction="none")
        total = torch.zeros(len(items), device=dev).index_add(0, owner, nll)
        counts = torch.zeros(len(items), device=dev).index_add(0, owner, torch.ones_like(nll))
        return total / counts.clamp(min=1)

    def forward(self, feats: EvidenceFeatures, questions: list[str], answers: list[str],
                au_targets: torch.Tensor | None = None, counterfactual: EvidenceFeatures | None = None,
                counterfactual_targets: torch.Tensor | None = None, ccr_mask: torch.Tensor | None = None,
                premises: Sequence[str] | None = None, candidates: Sequence[str] | None = None,
                groups: Sequence[int] | None = None, counterfactual_premises: Sequence[str] | None = None,
                counterfactual_candidates: Sequence[str] | None = None) -> dict[str, torch.Tensor]:
        """Losses for a batch: ``loss`` (total), ``lm``, ``au``, ``ccr`` (and the AU ``logits``).

        ``feats`` holds B clips; ``questions``/``answers`` (and ``candidates``, the per-question
        candidates text) are Q items, item ``i`` about clip ``groups[i]`` (default: one item per
        clip, in order); ``premises`` the B clips' premises text (prompt version 2).
        ``counterfactual`` is the same clips with evidence changed (AUs masked or swapped), with
        its AU labels ``counterfactual_targets`` and premises ``counterfactual_premises``;
        ``ccr_mask`` (Q,) marks the items whose answer the change contradicts (see
        :mod:`faceqa.aullm.ccr`); only those are scored again under the counterfactual.
        """
        groups = list(range(len(questions))) if groups is None else list(groups)
        ct, it, logits = self.evidence_tokens(feats)
        per_item = self.packed_nll(ct, it, premises or [], questions, answers, groups, candidates)
        lm = per_item.mean()
        out = {"lm": lm, "logits": logits}
        total = lm
        if au_targets is not None and self.config.au_weight:
            out["au"] = asymmetric_loss(logits, au_targets.to(logits.device))
            total = total + self.config.au_weight * out["au"]
        if counterfactual is not None and self.config.ccr_weight:
            from faceqa.aullm.ccr import consistency_loss

            ct_c, it_c, logits_c = self.evidence_tokens(counterfactual)
            chosen = ([i for i in range(len(questions)) if float(ccr_mask[i]) > 0] if ccr_mask is not None
                      else list(range(len(questions))))
            if chosen:
                nll_c = self.packed_nll(ct_c, it_c, counterfactual_premises or premises or [], questions, answers,
                                        groups, counterfactual_candidates or candidates, items=chosen)
                out["ccr"] = consistency_loss(per_item[chosen], nll_c, logits_c, counterfactual_targets, None,
                                              self.config.ccr_margin)
            elif counterfactual_targets is not None:  # no answer is contradicted: the AU head's part only
                out["ccr"] = asymmetric_loss(logits_c, counterfactual_targets.to(logits_c))
            else:
                out["ccr"] = lm.new_zeros(())
            total = total + self.config.ccr_weight * out["ccr"]
        out["loss"] = total
        return out

    def decoder(self):
        """The constrained decoder on this model's LLM (:class:`~faceqa.aullm.decoding.Decoder`)."""
        from faceqa.aullm.decoding import Decoder

        if getattr(self, "_decoding", None) is None:
            self._decoding = Decoder(self.llm, self.tokenizer, self.answer_end)
        return self._decoding

    @torch.inference_mode()
    def answer(self, feats: EvidenceFeatures, questions: list[str], max_new_tokens: int | None = None,
               premises: str = "", candidates: Sequence[str] | None = None,
               grammars: Sequence | None = None) -> list[str]:
        """Answers to several questions about one clip; the evidence prefix is computed once.

        ``premises``: the clip's premises text; ``candidates``: per question, the candidates text
        (or ""); ``grammars``: per question, an answer grammar (:func:`~faceqa.aullm.decoding.grammar_for`)
        to decode under, or None for greedy free text.
        """
        from faceqa.aullm.decoding import _State

        if feats.mid.dim() == 2:
            feats = EvidenceFeatures(feats.mid[None], feats.high[None], feats.nodes[None],
                                     feats.crops[None] if feats.crops is not None else None)
        ct, it, _ = self.evidence_tokens(feats)
        prefix = self.prefix_embeds(ct[0], it[0], premises).unsqueeze(0)
        limit = max_new_tokens or self.config.max_new_tokens
        decoder = self.decoder()
        answers = []
        alone = len(questions) == 1  # one question: prefix and question in one forward pass
        cache = None if alone else self.llm(inputs_embeds=prefix, use_cache=True, logits_to_keep=1).cache
        for n, q in enumerate(questions):
            ids = self.layout.suffix_ids(self.tokenizer, q, candidates[n] if candidates else "")
            suffix = self._embed(ids).unsqueeze(0).to(prefix.dtype)
            if alone:
                step = self.llm(inputs_embeds=torch.cat([prefix, suffix], dim=1), use_cache=True, logits_to_keep=1)
            else:
                step = self.llm(inputs_embeds=suffix, cache=copy.deepcopy(cache), use_cache=True, logits_to_keep=1)
            state = _State(step.cache, step.logits[0, -1].float())
            grammar = grammars[n] if grammars else None
            if grammar:
                answers.append(decoder.run(state, grammar))
            else:
                answers.append(decoder.greedy(state, limit, self.eos_ids))
        return answers
