"""BLEU-4 (sentence level, add-one smoothing of higher orders) and ROUGE-1 F for answer text."""

from __future__ import annotations

import math
import re
from collections import Counter

_TOKEN = re.compile(r"\w+|[^\w\s]")


def tokens(text: str) -> list[str]:
    """Lower-cased word and punctuation tokens."""
    return _TOKEN.findall(text.lower())


def _ngrams(toks: list[str], n: int) -> Counter:
    return Counter(tuple(toks[i:i + n]) for i in range(len(toks) - n + 1))


def bleu4_sentence(candidate: str, references: list[str]) -> float:
    """Sentence BLEU-4 with uniform weights, brevity penalty, and add-one smoothing for n > 1 (Lin & Och 2004)."""
    cand = tokens(candidate)
    refs = [tokens(r) for r in references]
    if not cand:
        return 0.0
    logs = 0.0
    for n in range(1, 5):
        counts = _ngrams(cand, n)
        max_ref = Counter()
        for r in refs:
            max_ref |= _ngrams(r, n)
        match = sum(min(c, max_ref[g]) for g, c in counts.items())
        total = max(0, len(cand) - n + 1)
        if n == 1:
            if match == 0:
                return 0.0
            logs += math.log(match / total)
        else:
            logs += math.log((match + 1) / (total + 1))
    ref_len = min((abs(len(r) - len(cand)), len(r)) for r in refs)[1]
    bp = 1.0 if len(cand) > ref_len else math.exp(1 - ref_len / len(cand))
    return bp * math.exp(logs / 4)


def rouge1_f(candidate: str, reference: str) -> float:
    """ROUGE-1 F1: unigram overlap of candidate and reference."""
    c, r = Counter(tokens(candidate)), Counter(tokens(reference))
    overlap = sum((c & r).values())
    if not overlap:
        return 0.0
    p, rec = overlap / sum(c.values()), overlap / sum(r.values())
    return 2 * p * rec / (p + rec)
