"""BLEU and ROUGE-1 for answer texts, written out here (no nltk, no rouge_score).

**Tokens.** BLEU: the answer lower-cased and split on white space, punctuation kept on the word
(``"negative."`` is not ``"negative"``), as MEGC teams scored with nltk on ``answer.lower().split()``.
ROUGE-1: lower-cased, every run of characters other than ``a-z0-9`` a separator, as rouge_score's
tokenizer does; no stemming (rouge_score with ``use_stemmer=True`` would also Porter-stem).

**Sentence BLEU** (:func:`sentence_bleu`), nltk's ``sentence_bleu`` with ``SmoothingFunction().method1``
and one reference: modified n-gram precisions p_1..p_4 (hypothesis n-gram counts clipped by the
reference's; denominator the hypothesis n-gram count, at least 1); an order with no match gets
``epsilon / denominator`` (epsilon 0.1, Chen & Cherry 2014 method 1); no unigram match at all
scores 0; brevity penalty ``BP = 1`` if c > r else ``exp(1 - r/c)`` (c, r: hypothesis and reference
lengths); ``BLEU = BP * exp(mean_n log p_n)``. So a one-word answer equal to the reference scores
``0.1 ** 0.75 = 0.178`` (p_1 = 1; p_2..p_4 = 0.1), as nltk reports for it.

**Corpus BLEU-4** (:func:`corpus_bleu`), Papineni et al. 2002 without smoothing: clipped n-gram
matches and hypothesis n-gram counts are summed over the corpus before dividing; BP uses the
summed lengths; any order with no match in the whole corpus gives 0.

**ROUGE-1** (:func:`rouge1`): unigram overlap ``sum_w min(count_ref(w), count_hyp(w))``;
precision = overlap / hypothesis tokens, recall = overlap / reference tokens, F1 their harmonic
mean (each 0 when undefined).
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

MAX_N = 4
EPSILON = 0.1


def bleu_tokens(text: str) -> list[str]:
    """BLEU tokens: lower case, split on white space."""
    return text.lower().split()


def rouge_tokens(text: str) -> list[str]:
    """ROUGE tokens: lower case, runs of ``a-z0-9``."""
    return re.sub(r"[^a-z0-9]+", " ", text.lower()).split()


def _ngrams(tokens: Sequence[str], n: int) -> Counter:
    return Counter(tuple(tokens[i:i + n]) for i in range(len(tokens) - n + 1))


def _matches(ref: Sequence[str], hyp: Sequence[str], n: int) -> tuple[int, int]:
    """(clipped matches, hypothesis n-grams) for order n."""
    h, r = _ngrams(hyp, n), _ngrams(ref, n)
    return sum(min(c, r[g]) for g, c in h.items()), sum(h.values())


def _brevity_penalty(ref_len: int, hyp_len: int) -> float:
    if hyp_len == 0:
        return 0.0
    return 1.0 if hyp_len > ref_len else math.exp(1 - ref_len / hyp_len)


def sentence_bleu(reference: str, hypothesis: str, max_n: int = MAX_N, epsilon: float = EPSILON) -> float:
    """Sentence BLEU with method-1 smoothing (see the module docstring)."""
    ref, hyp = bleu_tokens(reference), bleu_tokens(hypothesis)
    if not hyp:
        return 0.0
    logs = []
    for n in range(1, max_n + 1):
        matched, total = _matches(ref, hyp, n)
        if n == 1 and matched == 0:
            return 0.0
        denominator = max(1, total)
        logs.append(math.log(matched / denominator if matched else epsilon / denominator))
    return _brevity_penalty(len(ref), len(hyp)) * math.exp(sum(logs) / max_n)


def corpus_bleu(references: Sequence[str], hypotheses: Sequence[str], max_n: int = MAX_N) -> float:
    """Corpus BLEU-4 without smoothing (see the module docstring)."""
    if len(references) != len(hypotheses):
        raise ValueError(f"{len(references)} references but {len(hypotheses)} hypotheses")
    matched, total = [0] * max_n, [0] * max_n
    ref_len = hyp_len = 0
    for reference, hypothesis in zip(references, hypotheses, strict=True):
        ref, hyp = bleu_tokens(reference), bleu_tokens(hypothesis)
        ref_len += len(ref)
        hyp_len += len(hyp)
        for n in range(1, max_n + 1):
            m, t = _matches(ref, hyp, n)
            matched[n - 1] += m
            total[n - 1] += t
    if not all(matched):
        return 0.0
    log_p = sum(math.log(m / t) for m, t in zip(matched, total, strict=True)) / max_n
    return _brevity_penalty(ref_len, hyp_len) * math.exp(log_p)


@dataclass(frozen=True)
class Rouge:
    """ROUGE-1 precision, recall and F1."""

    precision: float
    recall: float
    f1: float


def rouge1(reference: str, hypothesis: str) -> Rouge:
    """ROUGE-1 of a hypothesis against one reference (see the module docstring)."""
    ref, hyp = Counter(rouge_tokens(reference)), Counter(rouge_tokens(hypothesis))
    overlap = sum(min(c, ref[w]) for w, c in hyp.items())
    p = overlap / sum(hyp.values()) if hyp else 0.0
    r = overlap / sum(ref.values()) if ref else 0.0
    return Rouge(p, r, 2 * p * r / (p + r) if p + r else 0.0)
