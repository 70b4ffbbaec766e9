"""Evidence features for the AULLM++ model, from video evidence or synthesised from AU labels.

Three views of one clip (an onset..offset interval):

- ``mid`` (R, 4): per FACS region and side (:func:`~faceqa.evidence.regions.region_keys`), the
  displacement at the apex (x, y) and its peak and mean magnitude over the interval, all x10 IOD:
  the mid-level motion/texture cues of MGE-EFP;
- ``high`` (H,): AU strengths per side (capped at 3), expression probabilities (7 + a "known"
  flag) and mesh-geometry deltas at the apex: the high-level semantics;
- ``nodes`` (N, 6): one row per AU of the relation prior: measured strength L, R and max, whether
  the AU is measurable from motion, and oracle presence L, R (from AU labels when given: the
  ``--au-labels`` and annotation-evidence modes; zero from video).

``features_from_labels`` synthesises the same features from an AU set (annotation-evidence
mode): each AU's FACS motion (:data:`~faceqa.evidence.au_activity.AU_MOTIONS`) displaces its
regions with a random intensity, plus noise, and the strengths are computed from that displacement
by the same formulas as for video, so a model trained on labels sees what video would give it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from faceqa.evidence.au_activity import AU_MOTIONS, au_activity
from faceqa.evidence.mesh_features import FEATURES as GEOM_FEATURES
from faceqa.evidence.regions import region_keys
from faceqa.perception.records import EMOTIONS

MID_DIM = 4
NODE_DIM = 6
MEASURED = tuple(m.au for m in AU_MOTIONS)
HIGH_DIM = 2 * len(AU_MOTIONS) + len(EMOTIONS) + 1 + len(GEOM_FEATURES)


def feature_dims() -> dict[str, int]:
    """The evidence-feature dimensions this faceqa builds models with: regions (R), the per-region
    ``mid`` width, the clip-level ``high`` width and the per-AU ``node`` width."""
    return {"regions": len(region_keys()), "mid": MID_DIM, "high": HIGH_DIM, "node": NODE_DIM}


@dataclass
class EvidenceFeatures:
    """The model's input for one clip (float32 tensors)."""

    mid: torch.Tensor  # (R, MID_DIM)
    high: torch.Tensor  # (HIGH_DIM,)
    nodes: torch.Tensor  # (N, NODE_DIM)
    crops: torch.Tensor | None = None  # (2, H, W) aligned gray face at onset and apex, for a vision encoder

    def to(self, device) -> EvidenceFeatures:
        """The same features on ``device``."""
        crops = self.crops.to(device) if self.crops is not None else None
        return EvidenceFeatures(self.mid.to(device), self.high.to(device), self.nodes.to(device), crops)


def _high(strength: np.ndarray, emotion: dict[str, float] | None, geom: np.ndarray | None) -> np.ndarray:
    emo = np.array([emotion.get(e, 0.0) for e in EMOTIONS] + [1.0], np.float32) if emotion else np.zeros(
        len(EMOTIONS) + 1, np.float32)
    g = np.zeros(len(GEOM_FEATURES), np.float32) if geom is None else np.nan_to_num(geom).astype(np.float32) * 10
    return np.concatenate([np.minimum(strength, 3.0).astype(np.float32), emo, np.clip(g, -3, 3)])


def _nodes(node_aus: tuple[int, ...], strength: np.ndarray, oracle: dict[int, tuple[float, float]]) -> np.ndarray:
    rows = np.zeros((len(node_aus), NODE_DIM), np.float32)
    col = {au: j for j, au in enumerate(MEASURED)}
    for i, au in enumerate(node_aus):
        if au in col:
            left, right = strength[2 * col[au]], strength[2 * col[au] + 1]
            rows[i, :4] = (min(left, 3.0), min(right, 3.0), min(max(left, right), 3.0), 1.0)
        if au in oracle:
            rows[i, 4:] = oracle[au]
    return rows


def _mid(series: np.ndarray) -> np.ndarray:
    """(T, R, 2) displacement relative to onset -> (R, 4) features (apex = frame of largest motion)."""
    mag = np.linalg.norm(series, axis=2)  # (T, R)
    apex = int(np.argmax(mag.sum(axis=1))) if len(series) else 0
    out = np.zeros((series.shape[1], MID_DIM), np.float32)
    if len(series):
        out[:, :2] = series[apex]
        out[:, 2] = mag.max(axis=0)
        out[:, 3] = mag.mean(axis=0)
    return np.clip(out * 10.0, -5.0, 5.0)


def oracle_sides(aus) -> dict[int, tuple[float, float]]:
    """AU number -> (left, right) presence from parsed AU codes (no side = both)."""
    out: dict[int, tuple[float, float]] = {}
    for a in aus:
        left, right = out.get(a.number, (0.0, 0.0))
        if a.side in (None, "L"):
            left = 1.0
        if a.side in (None, "R"):
            right = 1.0
        out[a.number] = (left, right)
    return out


def features_from_displacement(series: np.ndarray, node_aus: tuple[int, ...],
                               emotion: dict[str, float] | None = None, geom: np.ndarray | None = None,
                               oracle: dict[int, tuple[float, float]] | None = None) -> EvidenceFeatures:
    """Features from region displacements (T, R, 2) relative to the interval's first frame."""
    series = np.nan_to_num(np.asarray(series, np.float32))
    strength = au_activity(series, saturate=False).max(axis=0) if len(series) else np.zeros(2 * len(MEASURED))
    return EvidenceFeatures(torch.from_numpy(_mid(series)), torch.from_numpy(_high(strength, emotion, geom)),
                            torch.from_numpy(_nodes(node_aus, strength, oracle or {})))


def features_from_evidence(evidence, node_aus: tuple[int, ...], onset: int | None = None, offset: int | None = None,
                           emotion: dict[str, float] | None = None, oracle=None) -> EvidenceFeatures:
    """Features for [onset, offset] of an :class:`~faceqa.evidence.extract.Evidence` (whole clip by default)."""
    span = evidence.span(onset, offset)
    if span is None:
        empty = np.zeros((1, len(region_keys()), 2), np.float32)
        return features_from_displacement(empty, node_aus, emotion, None, oracle_sides(oracle or []))
    i0, i1 = span
    disp = evidence.displacements()
    series = disp[i0:i1 + 1] - disp[i0]
    geom_cols = [f"geom_{g}" for g in GEOM_FEATURES]
    geoms = evidence.table[geom_cols].to_numpy(np.float32)[i0:i1 + 1]
    apex = int(np.argmax(np.linalg.norm(np.nan_to_num(series), axis=2).sum(axis=1)))
    geom = geoms[apex] - geoms[0]
    feats = features_from_displacement(series, node_aus, emotion, geom, oracle_sides(oracle or []))
    if evidence.faces is not None:
        feats.crops = torch.from_numpy(np.stack([evidence.faces[i0], evidence.faces[i0 + apex]]))
    return feats


def synthetic_displacement(aus, rng: np.random.Generator, frames: int = 9, noise: float = 0.004,
                           distractors: float = 0.3) -> np.ndarray:
    """(frames, R, 2) displacement series that the labelled AUs would produce (raised-cosine rise).

    Each AU moves its regions along its FACS directions with a random intensity (0.5..1.6 of full);
    unlabelled AUs are weakly present with probability ``distractors``; Gaussian noise is added.
    """
    keys = {k: i for i, k in enumerate(region_keys())}
    apex = np.zeros((len(keys), 2), np.float32)
    labelled = oracle_sides(aus)
    motions = {m.au: m for m in AU_MOTIONS}

    def add(au: int, left: float, right: float, scale: float) -> None:
        m = motions[au]
        for region, (o, u) in m.moves:
            for side, amount in (("L", left), ("R", right)):
                if not amount:
                    continue
                key = (region, "C") if (region, "C") in keys else (region, side)
                out_sign = 0.0 if key[1] == "C" else (1.0 if side == "L" else -1.0)
                share = 0.5 if key[1] == "C" else 1.0
                apex[keys[key]] += share * amount * scale * m.full * np.array([out_sign * o, -u], np.float32)

    for au, (left, right) in labelled.items():
        if au in motions:
            add(au, left, right, float(rng.uniform(0.5, 1.6)))
    for au in motions:
        if au not in labelled and rng.random() < distractors:
            add(au, float(rng.random() < 0.7), float(rng.random() < 0.7), float(rng.uniform(0.05, 0.3)))
    profile = 0.5 - 0.5 * np.cos(np.pi * np.linspace(0, 1, frames))
    series = profile[:, None, None] * apex[None]
    return series + rng.normal(0, noise, series.shape).astype(np.float32)


def features_from_labels(aus, node_aus: tuple[int, ...], rng: np.random.Generator,
                         oracle_dropout: float = 0.5) -> EvidenceFeatures:
    """Annotation-evidence mode: features synthesised from parsed AU codes (see the module docstring).

    With probability ``oracle_dropout`` the oracle-presence columns are zeroed, so a model trained
    this way also works from video evidence alone.
    """
    series = synthetic_displacement(aus, rng)
    oracle = {} if rng.random() < oracle_dropout else oracle_sides(aus)
    return features_from_displacement(series, node_aus, None, None, oracle)


def collate(items: list[EvidenceFeatures]) -> EvidenceFeatures:
    """Stack per-clip features into a batch (leading dimension B); crops only when every clip has them."""
    crops = torch.stack([f.crops for f in items]) if all(f.crops is not None for f in items) else None
    return EvidenceFeatures(torch.stack([f.mid for f in items]), torch.stack([f.high for f in items]),
                            torch.stack([f.nodes for f in items]), crops)
