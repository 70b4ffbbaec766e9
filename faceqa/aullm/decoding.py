"""Constrained decoding: answers to closed-set questions that are always valid labels.

A closed-set answer follows a small grammar (:func:`grammar_for`): a sequence of

- :class:`Literal` text, fed as it is (the fixed words of the compound answer);
- :class:`Choice` among whole options (a class name, ``yes``/``no``, ``left``/``right``): every
  option is scored in one batched forward pass from the shared KV cache, as the sum of its tokens'
  log-probabilities plus that of the token that must follow it (so an option that is a prefix of
  another is not favoured), and the best one is taken;
- :class:`AUList`: AU names joined by ``", "``; before each further name the model chooses
  between the separator and the token that ends the list (their logit margin against the
  bundle's fitted stop bias; subject to the question's number: one AU for "What is the action
  unit?", at least two for "What are the action units?"), then the
  name among the names not yet said (a batched choice among the names whose first token is one of
  the :data:`SHORTLIST` most probable first tokens), so an AU is never repeated and every name is
  a FACS name. With premises (:mod:`~faceqa.aullm.premises`), :func:`grounded` narrows the names
  to the AUs the premises list, so the model chooses which of the AUs its evidence found to name,
  in which order and how many, and never an AU that no evidence shows; it also hands the class
  choices the premises' candidate probabilities (weighed in as the bundle's calibration says).

Options are tokenized on their own, with the leading space they have in the answer; the
tokenizers of the Llama/Qwen family split words and punctuation before BPE, so these pieces give
the same tokens as the whole answer does in training (checked in the tests for the embedded
model). Questions outside the closed set (free-form, analysis) are generated greedily.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import torch

from faceqa.aullm.calibration import STOP, Calibration
from faceqa.facs.emotion_classes import COARSE_CLASSES, COARSE_OF, FINE_CLASSES
from faceqa.facs.units import action_units, au_by_number


@dataclass(frozen=True)
class Literal:
    """Fixed text of the answer."""

    text: str


@dataclass(frozen=True)
class Choice:
    """One of ``options`` (each as it appears in the answer, with its leading space if any).

    ``role`` names the label set (``"fine"``, ``"coarse"``): a bundle's calibration applies per role.
    ``evidence``: the premises' probability of each option (empty: none), weighed in by the
    calibration's premise weight.
    """

    options: tuple[str, ...]
    role: str = ""
    evidence: tuple[float, ...] = ()


@dataclass(frozen=True)
class AUList:
    """AU names joined by ``", "``: ``min_items`` to ``max_items`` (None: no cap), ``lead`` before the first."""

    names: tuple[str, ...]
    min_items: int = 1
    max_items: int | None = None
    lead: str = ""


Segment = Literal | Choice | AUList


@dataclass(frozen=True)
class ClassVocab:
    """The labels a closed-set answer may use: fine and coarse classes, AU numbers."""

    fine: tuple[str, ...] = FINE_CLASSES
    coarse: tuple[str, ...] = COARSE_CLASSES
    aus: tuple[int, ...] = field(default_factory=lambda: tuple(a.number for a in action_units() if a.number < 50))
    coarse_from_fine: bool = True
    """The coarse answer is the fine answer's coarse class (MEGC's map), as for any dataset with fine
    labels; False for one whose training clips had coarse labels only (SMIC), answered directly."""

    @property
    def au_names(self) -> tuple[str, ...]:
        """MEGC names of :attr:`aus`."""
        return tuple(au_by_number(a).name for a in self.aus)

    def to_dict(self) -> dict:
        """Plain dict (JSON-ready)."""
        return {"fine": list(self.fine), "coarse": list(self.coarse), "aus": list(self.aus)}

    @classmethod
    def from_dict(cls, d: dict) -> ClassVocab:
        """Inverse of :meth:`to_dict` (missing keys take the generic vocabulary)."""
        generic = cls()
        return cls(tuple(d.get("fine") or generic.fine), tuple(d.get("coarse") or generic.coarse),
                   tuple(int(a) for a in (d.get("aus") or generic.aus)), bool(d.get("fine", True)))


GENERIC_VOCAB = ClassVocab()
"""Every MEGC class and every FACS AU below 50: for datasets a bundle never saw."""

MAX_CLIP_AUS = 6
"""Most AUs a clip's answer may name (no training clip has more than 5 distinct AUs)."""
MAX_VIDEO_AUS = 16
"""Most distinct AUs a long video's answer may name."""
SHORTLIST = 4
"""An AU name is scored in full only when its first token is among this many most probable first tokens."""
COMPOUND = ("The action unit present is:", "The action units present are:")
COMPOUND_FINE = ". Therefore, the fine-grained expression class is"
COMPOUND_COARSE = ", and the coarse expression class is"


def grammar_for(question, vocab: ClassVocab = GENERIC_VOCAB) -> tuple[Segment, ...] | None:
    """The answer grammar of a parsed :class:`~faceqa.qa.questions.Question`, or None (free text).

    The answers follow the MEGC training answers (and the composer's templates): a bare class,
    ``yes``/``no``, ``left``/``right``, AU names joined by ``", "``, the compound sentence, and for
    ME-LVQA a number or ``micro-``/``macro-expression``.
    """
    names = vocab.au_names
    if question.kind == "coarse":
        return (Choice(vocab.coarse, "coarse"),)
    if question.kind == "fine":
        return (Choice(vocab.fine, "fine"),)
    if question.kind == "au_present":
        return (Choice(("yes", "no")),)
    if question.kind == "au_side":
        return (Choice(("left", "right")),)
    if question.kind == "aus":
        return (AUList(names, 2, MAX_CLIP_AUS) if question.plural else AUList(names, 1, 1),)
    if question.kind == "distinct_aus":
        return (AUList(names, 1, MAX_VIDEO_AUS),)
    if question.kind == "compound":
        plural = bool(question.plural)
        return (Literal(COMPOUND[plural]), AUList(names, 2 if plural else 1, MAX_CLIP_AUS if plural else 1, " "),
                Literal(COMPOUND_FINE), Choice(tuple(" " + c for c in vocab.fine), "fine"),
                Literal(COMPOUND_COARSE), Choice(tuple(" " + c for c in vocab.coarse), "coarse"), Literal("."))
    if question.kind == "event_type":
        return (Choice(("micro-expression", "macro-expression")),)
    if question.kind == "count":
        return (Choice(tuple(str(n) for n in range(21))),)
    return None


def grounded(grammar: Sequence[Segment] | None, names: Sequence[str],
             classes: dict[str, dict[str, float]] | None = None) -> tuple[Segment, ...] | None:
    """``grammar`` with each AU list restricted to ``names`` (the AUs the premises list), in their order,
    and each class choice given ``classes[role]`` (the premises' candidate probabilities) as evidence.

    An AU list keeps its own names where ``names`` are fewer than it must say (a plural question
    about evidence that lists one AU), so the answer keeps its form. A label the candidates lack
    has probability 0.
    """
    if grammar is None:
        return None
    kept = tuple(names)
    classes = classes or {}

    def ground(seg: Segment) -> Segment:
        if isinstance(seg, AUList) and len(kept) >= seg.min_items:
            return AUList(kept, seg.min_items, seg.max_items, seg.lead)
        if isinstance(seg, Choice) and classes.get(seg.role):
            probs = classes[seg.role]
            return Choice(seg.options, seg.role, tuple(float(probs.get(o.strip(), 0.0)) for o in seg.options))
        return seg

    return tuple(ground(seg) for seg in grammar)


def implied_coarse(choice: Choice, fine: str | None) -> Choice:
    """A coarse ``choice`` narrowed to the coarse class of ``fine`` (when ``fine`` has one among its options)."""
    coarse = COARSE_OF.get(fine or "")
    keep = [i for i, o in enumerate(choice.options) if o.strip() == coarse]
    if choice.role != "coarse" or not keep:
        return choice
    return Choice(tuple(choice.options[i] for i in keep), choice.role,
                  tuple(choice.evidence[i] for i in keep) if choice.evidence else ())


class _State:
    """The decoding state: the KV cache after the tokens so far and the logits for the next token."""

    def __init__(self, cache, logits: torch.Tensor):
        self.cache = cache
        self.logits = logits  # (V,)


class Decoder:
    """Runs grammars on a causal LM from a KV cache (see the module docstring)."""

    def __init__(self, llm, tokenizer, end_id: int):
        self.llm = llm
        self.tokenizer = tokenizer
        self.end_id = end_id
        self._ids: dict[str, list[int]] = {}
        self.calibration = Calibration()
        """The class priors divided out and the AU-list stop bias (see :mod:`faceqa.aullm.calibration`)."""
        self.trace: list[dict] | None = None
        """When a list, every scored :class:`Choice` with a role appends its role, labels and raw scores,
        and every :class:`AUList` its names and the stop margins on the way (role ``"stop"``)."""

    def ids(self, text: str) -> list[int]:
        """Token ids of a piece of answer text (cached)."""
        if text not in self._ids:
            self._ids[text] = self.tokenizer(text, add_special_tokens=False)["input_ids"]
        return self._ids[text]

    def _device(self):
        return self.llm.get_input_embeddings().weight.device

    def _feed(self, state: _State, ids: list[int]) -> _State:
        x = torch.tensor([ids], device=self._device())
        out = self.llm(input_ids=x, cache=state.cache, use_cache=True, logits_to_keep=1)
        return _State(out.cache, out.logits[0, -1].float())

    def _choose(self, state: _State, options: Sequence[list[int]], follow: int | None, advance: bool,
                shortlist: int | None = None, offsets: Sequence[float] | None = None,
                scored: list | None = None) -> tuple[int, _State | None]:
        """Index of the best option (with ``follow`` after it) and, if ``advance``, the state after it.

        An option's score is its log-probability minus its ``offsets`` entry (calibration); the raw
        log-probabilities are appended to ``scored`` when given. With ``shortlist``, only the options
        whose first token is among the ``shortlist`` most probable first tokens are scored in full.
        """
        import copy

        first = torch.log_softmax(state.logits, -1)
        if shortlist is not None:
            firsts = sorted({o[0] for o in options}, key=lambda t: -float(first[t]))[:shortlist]
            keep = [i for i, o in enumerate(options) if o[0] in firsts]
            if len(keep) < len(options):
                best, after = self._choose(state, [options[i] for i in keep], follow, advance)
                return keep[best], after
        if len(options) == 1 and not advance and scored is None:
            return 0, None
        longest = max(len(o) for o in options)
        needs_forward = longest > 1 or follow is not None or advance
        bias = torch.tensor(list(offsets), dtype=torch.float32) if offsets is not None else torch.zeros(len(options))
        scores = torch.tensor([float(first[o[0]]) for o in options])
        new_state = None
        if needs_forward:
            k = len(options)
            cache = copy.deepcopy(state.cache)
            past = cache.get_seq_length()
            cache.batch_repeat_interleave(k)
            pad = self.end_id
            x = torch.tensor([o + [pad] * (longest - len(o)) for o in options], device=self._device())
            out = self.llm(input_ids=x, cache=cache, use_cache=True)
            logp = torch.log_softmax(out.logits.float(), -1)
            for i, o in enumerate(options):
                s = float(first[o[0]])
                for j in range(1, len(o)):
                    s += float(logp[i, j - 1, o[j]])
                if follow is not None:
                    s += float(logp[i, len(o) - 1, follow])
                scores[i] = s
        if scored is not None:
            scored.append([round(float(v), 4) for v in scores])
        best = int(torch.argmax(scores - bias))
        if needs_forward and advance:
            cache = out.cache
            cache.batch_select_indices(torch.tensor([best], device=self._device()))
            extra = cache.get_seq_length() - (past + len(options[best]))
            if extra > 0:  # the padding after a shorter option
                cache.crop(-extra)
            new_state = _State(cache, out.logits[best, len(options[best]) - 1].float())
        return best, new_state

    def _follow(self, grammar: Sequence[Segment], i: int) -> int:
        """The first token after segment ``i``: the next literal's, or the answer's end."""
        nxt = grammar[i + 1] if i + 1 < len(grammar) else None
        if isinstance(nxt, Literal):
            return self.ids(nxt.text)[0]
        return self.end_id

    def run(self, state: _State, grammar: Sequence[Segment]) -> str:
        """The answer text for ``grammar`` from ``state`` (the cache after the question).

        A coarse choice after a fine one in the same answer (the compound sentence) says the fine
        class's coarse class (MEGC's map), where it has one."""
        text = []
        fine = None
        for i, seg in enumerate(grammar):
            last = i == len(grammar) - 1
            if isinstance(seg, Literal):
                text.append(seg.text)
                if not last:
                    state = self._feed(state, self.ids(seg.text))
            elif isinstance(seg, Choice):
                seg = implied_coarse(seg, fine)
                options = [self.ids(o) for o in seg.options]
                labels = [o.strip() for o in seg.options]
                scored: list | None = [] if self.trace is not None and seg.role else None
                best, after = self._choose(state, options, self._follow(grammar, i), advance=not last,
                                           offsets=self.calibration.option_offsets(seg.role, labels, seg.evidence),
                                           scored=scored)
                if scored:
                    entry = {"role": seg.role, "labels": labels, "scores": scored[0]}
                    self.trace.append(entry | ({"evidence": list(seg.evidence)} if seg.evidence else {}))
                text.append(seg.options[best])
                fine = labels[best] if seg.role == "fine" else fine
                state = after if after is not None else state
            else:
                state, said = self._au_list(state, seg, self._follow(grammar, i), last)
                text.append(said)
        return "".join(text)

    def _au_list(self, state: _State, seg: AUList, follow: int, last: bool) -> tuple[_State, str]:
        said: list[str] = []
        margins: list[tuple[int, float]] = []
        separator = self.ids(",")[0]
        while True:
            unused = [n for n in seg.names if n not in said]
            if not unused or (seg.max_items is not None and len(said) >= seg.max_items):
                break
            if said and len(said) >= seg.min_items:
                margins.append((len(said), round(float(state.logits[follow] - state.logits[separator]), 4)))
                if margins[-1][1] >= self.calibration.stop_bias:
                    break
            pieces = [(seg.lead if not said else ", ") + n for n in unused]
            more = (seg.max_items is None or len(said) + 1 < seg.max_items) and len(unused) > 1
            best, after = self._choose(state, [self.ids(p) for p in pieces], None, advance=not last or more,
                                       shortlist=SHORTLIST)
            said.append(unused[best])
            if after is None:
                break
            state = after
        if self.trace is not None:
            self.trace.append({"role": STOP, "said": said, "margins": margins})
        return state, seg.lead + ", ".join(said)

    def greedy(self, state: _State, max_new_tokens: int, eos_ids: set[int]) -> str:
        """Unconstrained greedy text (free-form questions)."""
        generated: list[int] = []
        for _ in range(max_new_tokens):
            token = int(state.logits.argmax())
            if token in eos_ids:
                break
            generated.append(token)
            state = self._feed(state, [token])
        return self.tokenizer.decode(generated, skip_special_tokens=True).strip()
