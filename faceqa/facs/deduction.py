"""Deduction from action units to the fine-grained and coarse emotion class.

Two sources of knowledge are combined:

1. **Prototypes.** :data:`PROTOTYPES` holds the EMFACS emotion prototypes of the FACS
   Investigator's Guide (Ekman, Friesen & Hager 2002; intensity marks and optional head/eye codes
   dropped, ``25/26/27`` alternatives written as separate prototypes), plus the small AU groups
   of the micro-expression objective classes after Davison, Merghani & Yap ("Objective classes
   for micro-facial expression recognition", J. Imaging 2018): ``4``, ``4+7`` for anger, ``1``,
   ``15``, ``1+4`` for sadness, ``1+2`` for surprise, ``20``, ``1+2+4`` for fear, ``14`` for contempt.
   :func:`prototype_match` scores them by Jaccard overlap; it is also the model's prior.

2. **Annotation statistics.** A multinomial logistic regression over AU-presence indicators
   (sides, intensities merged), fitted by :func:`fit_deduction_model` on expert labels:
   CAS(ME)^3 part A micro-expressions (convention ``"casme3"``) and the MEGC 2025 ME-VQA SAMM
   clips (convention ``"samm"``). Its logits are::

       z_c(x) = W_c . x + b_c  [+ D_c^k . x + d_c^k  under labelling convention k]

   The MAP objective is the class-balanced cross-entropy (balanced within each convention) plus
   ``lam/2 |W - w0 P|^2`` (P[c, a] = 1 when AU a is in a prototype of class c: the prototypes are
   the prior mean of the weights), ``lam_d/2 (|D|^2 + |d|^2)`` and ``1e-2/2 |b|^2``. It is
   strictly convex, so the fit is unique and reproducible (L-BFGS-B to a tight tolerance).
   The datasets label differently (CAS(ME)^3 calls most brow-lowerer events disgust, SAMM calls
   them anger), hence the per-convention offsets D, d and class sets (``others`` exists in
   CAS(ME)^3 only, ``contempt`` in SAMM only). With ``convention=None`` the shared weights are
   used, the cross-dataset compromise for media of unknown provenance.

The hyperparameters (``lam`` 3, ``w0`` 4, ``lam_d`` 3) were picked among a handful by the
leave-one-subject-out scores of ``scripts/evaluate_deduction.py``, so those scores are slightly
optimistic. The coarse class is the fine class's coarse class; for ``others`` (no coarse class) it is the
coarse class with the highest summed probability. ``scripts/evaluate_deduction.py`` measures
accuracy per subject held out and, with ``--write``, regenerates the shipped parameters in
``faceqa/data/au_emotion_model.json``.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from faceqa.errors import InvalidInputError, ModelUnavailableError
from faceqa.facs.annotations import LabelledExpression
from faceqa.facs.au_codes import AUCode, au_numbers, parse_aus
from faceqa.facs.emotion_classes import COARSE_CLASSES, COARSE_OF, FINE_CLASSES
from faceqa.facs.units import au_by_number

MODEL_PATH = Path(__file__).resolve().parents[1] / "data" / "au_emotion_model.json"
"""Where the package ships the fitted deduction model."""

FORMAT = "faceqa.au_emotion_model/1"

PROTOTYPES: dict[str, tuple[tuple[int, ...], ...]] = {
    "happiness": ((6, 12), (12,)),
    "surprise": ((1, 2, 5, 26), (1, 2, 5, 27), (1, 2, 5), (1, 2, 26), (1, 2, 27), (5, 26), (5, 27), (1, 2)),
    "fear": ((1, 2, 4, 5, 20, 26), (1, 2, 4, 5, 26), (1, 2, 4, 5), (5, 20, 26), (5, 20), (1, 2, 4), (20,)),
    "anger": (
        (4, 5, 7, 10, 22, 23, 26), (4, 5, 7, 10, 23, 26), (4, 5, 7, 23, 26), (4, 5, 7, 17, 23),
        (4, 5, 7, 17, 24), (4, 5, 7, 23), (4, 5, 7, 24), (4, 5, 23), (4, 5, 24), (17, 24),
        (4, 7), (4, 5), (4,), (23,),
    ),
    "disgust": ((9,), (9, 15, 16), (9, 16, 26), (9, 17), (10,), (10, 16, 25), (10, 16, 26), (10, 17)),
    "sadness": (
        (1, 4, 11, 15), (1, 4, 15), (6, 15), (1, 4, 11), (1, 4, 15, 17), (11, 15), (11, 17),
        (1, 4), (15, 17), (1,), (15,),
    ),
    "contempt": ((12, 14), (14,)),
}
"""Fine class -> AU-number prototypes (EMFACS and single-AU objective-class groups; see module doc)."""

DEFAULT_HYPERPARAMETERS: dict[str, float] = {"lam": 3.0, "w0": 4.0, "lam_d": 3.0}


@dataclass(frozen=True)
class Deduction:
    """The emotion deduced from a set of AUs.

    Attributes:
        fine: fine-grained class (MEGC spelling).
        coarse: ``positive``, ``negative`` or ``surprise``.
        scores: probability of each fine class the model knows (summing to 1).
        coarse_scores: summed probability per coarse class (``others`` left out, renormalised).
        prototype: the best-matching prototype as ``(class, AU numbers, Jaccard overlap)``, or None.
        rationale: one paragraph saying which AUs led to the answer.
    """

    fine: str
    coarse: str
    scores: dict[str, float]
    coarse_scores: dict[str, float]
    prototype: tuple[str, tuple[int, ...], float] | None
    rationale: str


def prototype_match(aus: Iterable[int], prefer: str | None = None) -> tuple[str, tuple[int, ...], float] | None:
    """The prototype with the largest Jaccard overlap with the AU numbers; None when nothing overlaps.

    Ties go to a prototype of class ``prefer`` when there is one, else to the first listed.
    """
    observed = set(aus)
    best: tuple[str, tuple[int, ...], float] | None = None
    for fine, protos in PROTOTYPES.items():
        for proto in protos:
            jaccard = len(observed & set(proto)) / len(observed | set(proto))
            if jaccard == 0 or best is not None and jaccard < best[2]:
                continue
            if best is None or jaccard > best[2] or (fine == prefer and best[0] != prefer):
                best = (fine, proto, jaccard)
    return best


@dataclass(frozen=True)
class DeductionModel:
    """Fitted logistic deduction model (see module doc for the formula).

    Attributes:
        classes: fine classes the model scores, in :data:`FINE_CLASSES` order.
        aus: AU numbers of the feature columns.
        weight, bias: shared (K, A) weights and (K,) biases.
        conventions: name -> (class subset, (K, A) weight offsets, (K,) bias offsets).
        hyperparameters: ``lam``, ``w0``, ``lam_d`` used in the fit.
        sources: the annotation files fitted on (path, sha256, rows), for the record.
    """

    classes: tuple[str, ...]
    aus: tuple[int, ...]
    weight: np.ndarray
    bias: np.ndarray
    conventions: dict[str, tuple[tuple[str, ...], np.ndarray, np.ndarray]]
    hyperparameters: dict[str, float]
    sources: tuple[dict[str, Any], ...] = ()

    def features(self, au_sets: Iterable[Iterable[int]]) -> np.ndarray:
        """(N, A) presence indicators; AUs outside :attr:`aus` are ignored."""
        col = {a: i for i, a in enumerate(self.aus)}
        rows = [list(s) for s in au_sets]
        x = np.zeros((len(rows), len(self.aus)))
        for n, s in enumerate(rows):
            x[n, [col[a] for a in s if a in col]] = 1.0
        return x

    def _check(self, convention: str | None) -> None:
        if convention is not None and convention not in self.conventions:
            raise InvalidInputError(
                f"unknown labelling convention {convention!r}: choose from {sorted(self.conventions)} or None"
            )

    def logits(self, x: np.ndarray, convention: str | None = None) -> np.ndarray:
        """(N, K) logits; classes outside the convention's class set get -inf."""
        self._check(convention)
        z = x @ self.weight.T + self.bias
        if convention is not None:
            subset, dw, db = self.conventions[convention]
            z = z + x @ dw.T + db
            z[:, [c not in subset for c in self.classes]] = -np.inf
        return z

    def probabilities(self, x: np.ndarray, convention: str | None = None) -> np.ndarray:
        """(N, K) class probabilities (softmax of :meth:`logits`)."""
        z = self.logits(x, convention)
        z = z - z.max(axis=1, keepdims=True)
        p = np.exp(z)
        return p / p.sum(axis=1, keepdims=True)

    def contributions(self, aus: Iterable[int], fine: str, convention: str | None = None) -> dict[int, float]:
        """Each known AU's logit contribution toward class ``fine`` (shared + convention weight)."""
        self._check(convention)
        k = self.classes.index(fine)
        w = self.weight[k] + (self.conventions[convention][1][k] if convention else 0.0)
        return {a: float(w[self.aus.index(a)]) for a in aus if a in self.aus}

    def to_json(self) -> dict[str, Any]:
        """The JSON content of the shipped file (weights rounded to 6 decimals)."""

        def r(a: np.ndarray) -> list:
            return np.round(a, 6).tolist()

        return {
            "format": FORMAT,
            "description": "AU -> fine emotion logistic model with prototype prior (faceqa.facs.deduction)",
            "sources": list(self.sources),
            "hyperparameters": self.hyperparameters,
            "classes": list(self.classes),
            "aus": list(self.aus),
            "prototypes": {k: [list(p) for p in v] for k, v in PROTOTYPES.items()},
            "weight": r(self.weight),
            "bias": r(self.bias),
            "conventions": {
                name: {"classes": list(subset), "weight_offset": r(dw), "bias_offset": r(db)}
                for name, (subset, dw, db) in self.conventions.items()
            },
        }

    @classmethod
    def from_json(cls, content: Mapping[str, Any]) -> DeductionModel:
        """Rebuild a model from :meth:`to_json` content."""
        if content.get("format") != FORMAT:
            raise InvalidInputError(f"not a deduction model (format {content.get('format')!r})")
        return cls(
            classes=tuple(content["classes"]),
            aus=tuple(content["aus"]),
            weight=np.asarray(content["weight"], dtype=np.float64),
            bias=np.asarray(content["bias"], dtype=np.float64),
            conventions={
                name: (tuple(c["classes"]), np.asarray(c["weight_offset"]), np.asarray(c["bias_offset"]))
                for name, c in content["conventions"].items()
            },
            hyperparameters=dict(content["hyperparameters"]),
            sources=tuple(content.get("sources", ())),
        )


def _prototype_matrix(classes: Sequence[str], aus: Sequence[int]) -> np.ndarray:
    p = np.zeros((len(classes), len(aus)))
    for k, fine in enumerate(classes):
        for proto in PROTOTYPES.get(fine, ()):
            p[k, [aus.index(a) for a in proto]] = 1.0
    return p


def fit_deduction_model(
    groups: Mapping[str, Sequence[LabelledExpression]],
    lam: float = DEFAULT_HYPERPARAMETERS["lam"],
    w0: float = DEFAULT_HYPERPARAMETERS["w0"],
    lam_d: float = DEFAULT_HYPERPARAMETERS["lam_d"],
    sources: Sequence[Mapping[str, Any]] = (),
) -> DeductionModel:
    """Fit the MAP logistic model on labelled expressions grouped by labelling convention.

    Only expressions with a fine label are used; each convention's class set is the fine classes
    its expressions carry.
    """
    from scipy.optimize import minimize  # imported here: only fitting needs it

    names = list(groups)
    samples = [(k, e) for k, name in enumerate(names) for e in groups[name] if e.fine]
    if not samples:
        raise InvalidInputError("no expressions with a fine emotion label to fit the deduction model on")
    seen = {e.fine for _, e in samples}
    classes = tuple(c for c in FINE_CLASSES if c in seen)
    prototype_aus = {a for protos in PROTOTYPES.values() for proto in protos for a in proto}
    aus = tuple(sorted({a for _, e in samples for a in au_numbers(e.aus)} | prototype_aus))
    n_cls, n_au, n_conv = len(classes), len(aus), len(names)
    col = {a: i for i, a in enumerate(aus)}
    x = np.zeros((len(samples), n_au))
    for n, (_, e) in enumerate(samples):
        x[n, [col[a] for a in au_numbers(e.aus)]] = 1.0
    y = np.array([classes.index(e.fine) for _, e in samples])
    conv = np.array([k for k, _ in samples])
    target = np.eye(n_cls)[y]
    mask = np.full((n_conv, n_cls), -1e9)
    sample_weight = np.ones(len(y))
    for k in range(n_conv):
        m = conv == k
        counts = np.bincount(y[m], minlength=n_cls).astype(float)
        mask[k, counts > 0] = 0.0
        per_class = np.where(counts > 0, m.sum() / ((counts > 0).sum() * np.maximum(counts, 1)), 0.0)
        sample_weight[m] = per_class[y[m]]
    prior = w0 * _prototype_matrix(classes, aus)
    sizes = [n_cls * n_au, n_cls, n_conv * n_cls * n_au, n_conv * n_cls]
    splits = np.cumsum(sizes)[:-1]

    def unpack(p: np.ndarray) -> tuple[np.ndarray, ...]:
        w, b, dw, db = np.split(p, splits)
        return w.reshape(n_cls, n_au), b, dw.reshape(n_conv, n_cls, n_au), db.reshape(n_conv, n_cls)

    def objective(p: np.ndarray) -> tuple[float, np.ndarray]:
        w, b, dw, db = unpack(p)
        z = x @ w.T + b + np.einsum("na,nka->nk", x, dw[conv]) + db[conv] + mask[conv]
        z = z - z.max(axis=1, keepdims=True)
        logp = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
        loss = -(sample_weight * (target * logp).sum(axis=1)).sum()
        loss += 0.5 * lam * ((w - prior) ** 2).sum() + 0.5 * lam_d * ((dw**2).sum() + (db**2).sum())
        loss += 0.5 * 1e-2 * (b**2).sum()
        g = (np.exp(logp) - target) * sample_weight[:, None]
        gdw = np.stack([g[conv == k].T @ x[conv == k] for k in range(n_conv)]) + lam_d * dw
        gdb = np.stack([g[conv == k].sum(axis=0) for k in range(n_conv)]) + lam_d * db
        grad = [g.T @ x + lam * (w - prior), g.sum(axis=0) + 1e-2 * b, gdw, gdb]
        return float(loss), np.concatenate([a.ravel() for a in grad])

    start = np.concatenate([prior.ravel(), np.zeros(sum(sizes[1:]))])
    result = minimize(objective, start, jac=True, method="L-BFGS-B",
                      options={"maxiter": 20000, "gtol": 1e-8, "ftol": 0.0})
    w, b, dw, db = unpack(result.x)
    conventions = {
        name: (tuple(c for c, keep in zip(classes, mask[k] == 0, strict=True) if keep), dw[k], db[k])
        for k, name in enumerate(names)
    }
    return DeductionModel(classes, aus, w, b, conventions, {"lam": lam, "w0": w0, "lam_d": lam_d}, tuple(sources))


@lru_cache(maxsize=4)
def load_deduction_model(path: Path | None = None) -> DeductionModel:
    """The shipped model (or the one at ``path``), cached."""
    path = MODEL_PATH if path is None else Path(path)
    if not path.is_file():
        raise ModelUnavailableError(f"{path}: deduction model missing; run scripts/evaluate_deduction.py --write")
    return DeductionModel.from_json(json.loads(path.read_text(encoding="utf-8")))


def coarse_from(scores: Mapping[str, float], fine: str) -> tuple[str, dict[str, float]]:
    """The coarse class for fine class ``fine`` given fine ``scores``, and the coarse scores.

    The coarse class of ``fine`` when it has one; for ``others``, the coarse class whose fine
    classes sum to the most probability.
    """
    sums = {c: sum(p for f, p in scores.items() if COARSE_OF[f] == c) for c in COARSE_CLASSES}
    total = sum(sums.values())
    coarse_scores = {c: (v / total if total > 0 else 1 / len(sums)) for c, v in sums.items()}
    coarse = COARSE_OF[fine] or max(COARSE_CLASSES, key=lambda c: coarse_scores[c])
    return coarse, coarse_scores


def _describe(numbers: Sequence[int]) -> str:
    return ", ".join(f"{au_by_number(a).name} (AU{a})" for a in numbers)


def deduce(
    aus: str | Iterable[AUCode | int], convention: str | None = None, model: DeductionModel | None = None
) -> Deduction:
    """AUs (codes, names, AUCodes or numbers) -> fine and coarse emotion with scores and rationale.

    ``convention`` (``"casme3"``, ``"samm"`` or None) selects the dataset's labelling habits;
    None uses the shared cross-dataset weights.
    """
    model = model or load_deduction_model()
    items = parse_aus(aus) if isinstance(aus, str) else list(aus)
    numbers = tuple(sorted({a if isinstance(a, int) else a.number for a in items}))
    for a in numbers:
        au_by_number(a)
    probs = model.probabilities(model.features([numbers]), convention)[0]
    scores = {c: float(p) for c, p in zip(model.classes, probs, strict=True) if np.isfinite(p) and p > 0}
    fine = max(scores, key=lambda c: scores[c])
    coarse, coarse_scores = coarse_from(scores, fine)
    proto = prototype_match(numbers, prefer=fine)
    known = [a for a in numbers if a in model.aus]
    unknown = [a for a in numbers if a not in model.aus]
    parts = [f"Action units: {_describe(numbers)}." if numbers else "No action units given."]
    if unknown:
        parts.append(f"Not in the model's annotations, so not weighed: {_describe(unknown)}.")
    if proto is not None:
        parts.append(f"Closest prototype: {proto[0]} ({'+'.join(map(str, proto[1]))}, overlap {proto[2]:.2f}).")
    pushes = sorted(model.contributions(known, fine, convention).items(), key=lambda kv: -kv[1])
    support = [f"AU{a} {w:+.2f}" for a, w in pushes]
    where = f"{convention} labelling" if convention else "shared weights"
    top = ", ".join(f"{c} {p:.2f}" for c, p in sorted(scores.items(), key=lambda kv: -kv[1])[:3])
    parts.append(
        f"Model ({where}): {top}" + (f"; evidence toward {fine}: {', '.join(support)}." if support else ".")
    )
    parts.append(f"Fine class {fine}, coarse class {coarse}.")
    return Deduction(fine, coarse, scores, coarse_scores, proto, " ".join(parts))
