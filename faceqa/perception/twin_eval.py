"""Leave-one-identity-out evaluation of the twin head (:mod:`faceqa.perception.twin`), with mirrors as twins.

Every face gets its mirror image as a new identity, the twin of the original (SFace cannot tell
them apart). For each identity in turn, a head is trained on all other identities (and their
mirror twins) and scored on the held-out one only:

- mirror separation: the held-out face and its own mirror image are called different by the head;
- genuine pairs kept: two faces of the held-out person are still called the same by the head;
- verification pairs (e.g. the deepface pivot pairs) whose first face is the held-out person:
  SFace alone against twin-aware.

Distances are recorded relative to each fold's training threshold (``ratio = distance /
threshold``), so :func:`summarise` can score any threshold scale ``k`` (the head calls two faces the
same when ``ratio <= k``) and any SFace floor (the head is asked only when the SFace distance is
above it) without training again. :func:`calibrate_scale` picks ``k`` from held-out genuine pairs.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from faceqa.errors import InvalidInputError
from faceqa.perception.twin import twin_aware_same


@dataclass
class TwinFeatures:
    """Pooled SFace-torch features of N faces followed by their N mirror images, unit SFace embeddings of
    all 2N, and the N faces' identity labels and names."""

    pooled: list
    glob: object
    sface: np.ndarray
    labels: list[str]
    names: list[str]

    def __len__(self) -> int:
        return len(self.labels)


def twin_features(crops: np.ndarray, boxes: np.ndarray, labels: Sequence[str], names: Sequence[str],
                  batch: int = 32) -> TwinFeatures:
    """:class:`TwinFeatures` of aligned crops (SFace channel order) and their region boxes."""
    from faceqa.perception.identity import get_embedder
    from faceqa.perception.twin import batched_features, mirror

    if not len(crops) == len(boxes) == len(labels) == len(names):
        raise InvalidInputError("twin_features: crops, boxes, labels and names differ in length")
    mirrored = [mirror(c, b) for c, b in zip(crops, boxes, strict=True)]
    all_crops = np.concatenate([crops, np.stack([m[0] for m in mirrored])])
    all_boxes = np.concatenate([boxes, np.stack([m[1] for m in mirrored])])
    pooled, glob = batched_features(all_crops, all_boxes, batch)
    return TwinFeatures(pooled, glob, get_embedder("sface").embed_crops(all_crops), list(labels), list(names))


def mirror_twin_labels(labels: Sequence[str]) -> tuple[list[int], dict[int, int]]:
    """(integer labels of the N faces then their N mirrors, twin map id -> mirror id) for :func:`train_twin_head`."""
    ids = {name: i for i, name in enumerate(sorted(set(labels)))}
    y = [ids[n] for n in labels]
    k = len(ids)
    return y + [v + k for v in y], {i: i + k for i in range(k)}


@dataclass
class Fold:
    """One held-out identity's records: ``mirror`` (M, 2) rows of (SFace distance, twin ratio) of each face
    and its mirror; ``genuine`` the same for pairs of its faces; ``pairs`` (P, 3) rows of (same, SFace
    distance, twin ratio) of the verification pairs led by it."""

    identity: str
    threshold: float
    mirror: np.ndarray
    genuine: np.ndarray
    pairs: np.ndarray = field(default_factory=lambda: np.zeros((0, 3)))


def leave_one_identity_out(feats: TwinFeatures, pairs: Sequence[tuple[int, int, bool]] = (), steps: int = 150,
                           identities: Sequence[str] | None = None, seed: int = 0, log=None) -> list[Fold]:
    """One :class:`Fold` per identity of ``identities`` (default all): a head trained without it, scored on it.

    ``pairs`` are (face index, face index, same person) verification pairs over the N faces; each is
    scored in the fold of its first face. ``log(fold)`` is called after each fold.
    """
    import torch

    from faceqa.perception.twin import train_twin_head

    n = len(feats)
    y, twins = mirror_twin_labels(feats.labels)
    y_arr = np.array(y)
    names = sorted(set(feats.labels))
    folds = []
    for ident in identities or names:
        hold = names.index(ident)
        test = np.isin(y_arr, [hold, hold + len(names)])
        keep = torch.from_numpy(~test)
        head, report = train_twin_head([p[keep] for p in feats.pooled], feats.glob[keep], y_arr[~test].tolist(),
                                       {a: b for a, b in twins.items() if a != hold}, steps=steps, seed=seed)
        with torch.no_grad():
            z = head(feats.pooled, feats.glob).numpy()
        t = report.threshold

        def rows(a: np.ndarray, b: np.ndarray, z=z, t=t) -> np.ndarray:
            return np.stack([np.linalg.norm(feats.sface[a] - feats.sface[b], axis=1),
                             np.linalg.norm(z[a] - z[b], axis=1) / t], 1)

        own = np.flatnonzero(y_arr[:n] == hold)
        a, b = np.triu_indices(len(own), 1)
        led = [(i, j, s) for i, j, s in pairs if y[i] == hold]
        fold = Fold(ident, t, rows(own, own + n), rows(own[a], own[b]) if len(a) else np.zeros((0, 2)))
        if led:
            i, j, s = (np.array(c) for c in zip(*led, strict=True))
            fold.pairs = np.concatenate([s[:, None].astype(float), rows(i, j)], 1)
        folds.append(fold)
        if log is not None:
            log(fold)
    return folds


def summarise(folds: Sequence[Fold], sface_threshold: float, scale: float = 1.0,
              sface_floor: float | None = None) -> dict:
    """Held-out figures over ``folds``: mirror separation (SFace's and twin-aware), genuine pairs kept, and
    verification accuracy SFace alone vs twin-aware on the recorded pairs."""
    mirror = np.concatenate([f.mirror for f in folds])
    genuine = np.concatenate([f.genuine for f in folds])
    pairs = np.concatenate([f.pairs for f in folds])
    out = {"scale": scale, "sface_floor": sface_floor, "faces": len(mirror),
           "mirror_separated_sface": round(float(np.mean(mirror[:, 0] > sface_threshold)), 4),
           "mirror_separated_twin_aware": round(float(np.mean(
               ~twin_aware_same(mirror[:, 0], mirror[:, 1], sface_threshold, scale, sface_floor))), 4),
           "genuine_pairs": len(genuine),
           "genuine_kept_sface": round(float(np.mean(genuine[:, 0] <= sface_threshold)), 4),
           "genuine_kept_twin_aware": round(float(np.mean(
               twin_aware_same(genuine[:, 0], genuine[:, 1], sface_threshold, scale, sface_floor))), 4)}
    if len(pairs):
        same = pairs[:, 0] > 0.5
        out |= {"pairs": len(pairs),
                "accuracy_sface": round(float(np.mean((pairs[:, 1] <= sface_threshold) == same)), 4),
                "accuracy_twin_aware": round(float(np.mean(
                    twin_aware_same(pairs[:, 1], pairs[:, 2], sface_threshold, scale, sface_floor) == same)), 4)}
    return out


def calibrate_scale(folds: Sequence[Fold], keep: float = 0.99) -> float:
    """The smallest threshold scale at which the head keeps ``keep`` of the folds' held-out genuine pairs."""
    genuine = np.concatenate([f.genuine for f in folds])
    if not len(genuine):
        raise InvalidInputError("calibrate_scale: no held-out genuine pairs")
    return float(np.quantile(genuine[:, 1], keep))
