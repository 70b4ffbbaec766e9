"""FEM-style embedding-leakage audit: can a leaked embedding be turned back into an accepted face?

The audited recognizer is dlib (its embeddings are what leaks); SFace in torch is the
differentiable model the attacker inverts (:func:`faceqa.perception.sface.load_torch`):

1. embed aligned face crops of known identities with both recognizers;
2. learn a mapping from dlib's embedding space to SFace's, a KAN (:class:`faceqa.privacy.kan.KAN`)
   and an MLP side by side, on the training identities;
3. for each held-out identity's leaked dlib embedding, map it to SFace's space and reconstruct a
   face by optimisation through SFace-torch from a neutral start face (the mean training crop);
4. report the mapping's cosine fidelity on held-out identities and the attack success rate: how
   often dlib (the *other* recognizer, never used in the optimisation) accepts the reconstruction
   as the leaked person, against the start face as a no-attack baseline.

The generator is pluggable: :func:`reconstruct` takes any ``render(params) -> crops`` and its
initial parameters; the default renders a start face plus a smooth, bounded perturbation.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from faceqa.errors import InvalidInputError

DLIB_BOX = (40.0, 44.0, 184.0, 212.0)
"""Face box in a 224x224 upscaled aligned crop, for dlib's 5-point aligner."""


@dataclass
class FaceSet:
    """Aligned 112x112 RGB crops (N, 112, 112, 3) uint8, their identity labels and both embeddings."""

    crops: np.ndarray
    labels: list[str]
    dlib: np.ndarray
    sface: np.ndarray


def crop_rgb(image_rgb: np.ndarray) -> np.ndarray:
    """The SFace-aligned 112x112 RGB crop of the largest face of an image."""
    from faceqa.perception.detection import largest_face
    from faceqa.perception.identity import SFaceEmbedder
    from faceqa.perception.sface import CHANNELS, align_crop, five_points

    mesh = SFaceEmbedder.landmarks(image_rgb, largest_face(image_rgb))
    crop = align_crop(image_rgb, five_points(mesh))
    return np.ascontiguousarray(crop[..., ::-1]) if CHANNELS == "BGR" else crop


def dlib_on_crops(crops: np.ndarray) -> np.ndarray:
    """dlib embeddings (N, 128) of aligned RGB crops (upscaled to 224, face box :data:`DLIB_BOX`)."""
    import cv2

    from faceqa.perception.identity import get_embedder

    dlib = get_embedder("dlib")
    out = [dlib.embed(cv2.resize(np.ascontiguousarray(c), (224, 224), interpolation=cv2.INTER_CUBIC), DLIB_BOX)
           for c in crops]
    return np.stack(out).astype(np.float32) if out else np.zeros((0, 128), np.float32)


def sface_on_crops(crops: np.ndarray, net=None) -> np.ndarray:
    """SFace-torch unit embeddings (N, 128) of aligned RGB crops."""
    import torch

    from faceqa.privacy.protect import _embed_torch, _net

    net = net if net is not None else _net()
    x = torch.from_numpy(np.asarray(crops, np.float32).transpose(0, 3, 1, 2))
    with torch.no_grad():
        return _embed_torch(net, x).numpy()


def faceset_from_crops(crops: Sequence[np.ndarray], labels: Sequence[str], flips: bool = True, net=None) -> FaceSet:
    """A :class:`FaceSet` from aligned RGB crops (:func:`crop_rgb`) and their identity labels (``flips``: add
    each crop's mirror image)."""
    out, names = [], []
    for c, label in zip(crops, labels, strict=True):
        out.append(c)
        names.append(label)
        if flips:
            out.append(np.ascontiguousarray(c[:, ::-1]))
            names.append(label)
    arr = np.stack(out)
    return FaceSet(arr, names, dlib_on_crops(arr), sface_on_crops(arr, net))


class Standardizer:
    """Per-dimension standardisation fitted on training rows (torch, differentiable)."""

    def __init__(self, rows: np.ndarray):
        import torch

        self.mean = torch.from_numpy(rows.mean(0).astype(np.float32))
        self.std = torch.from_numpy(rows.std(0).astype(np.float32) + 1e-4)

    def __call__(self, x):
        return (x - self.mean) / self.std


def make_mapper(kind: str, dim_in: int = 128, dim_out: int = 128, hidden: int = 32, seed: int = 0):
    """An untrained ``"kan"`` (widths [in, hidden, out]) or ``"mlp"`` (in -> 4*hidden -> out, GELU)."""
    import torch
    from torch import nn

    from faceqa.privacy.kan import KAN

    torch.manual_seed(seed)
    if kind == "kan":
        return KAN([dim_in, hidden, dim_out], seed=seed)
    if kind == "mlp":
        return nn.Sequential(nn.Linear(dim_in, 4 * hidden), nn.GELU(), nn.Linear(4 * hidden, dim_out))
    raise InvalidInputError(f"mapper {kind!r}: expected 'kan' or 'mlp'")


def fit_mapping(kind: str, x: np.ndarray, y: np.ndarray, epochs: int = 300, lr: float = 3e-3,
                weight_decay: float = 1e-3, seed: int = 0) -> Callable[[np.ndarray], np.ndarray]:
    """Train a mapper from rows ``x`` to unit rows ``y`` (loss 1 - cosine); returns ``f(x) -> unit rows``."""
    import torch

    model = make_mapper(kind, x.shape[1], y.shape[1], seed=seed)
    scale = Standardizer(x)
    xt, yt = torch.from_numpy(np.asarray(x, np.float32)), torch.from_numpy(np.asarray(y, np.float32))
    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=weight_decay)
    for _ in range(epochs):
        opt.zero_grad()
        loss = 1.0 - torch.nn.functional.cosine_similarity(model(scale(xt)), yt).mean()
        loss.backward()
        opt.step()
    model.eval()

    def apply(rows: np.ndarray) -> np.ndarray:
        with torch.no_grad():
            out = model(scale(torch.from_numpy(np.asarray(rows, np.float32))))
            return torch.nn.functional.normalize(out, dim=1).numpy()

    return apply


def smooth_render(start: np.ndarray, eps: float = 60.0, grid: int = 28):
    """The default generator: ``start`` crop(s) (N, 112, 112, 3) plus ``eps * tanh`` of a coarse
    ``grid`` x ``grid`` map upsampled bilinearly. Returns (render, initial params)."""
    import torch
    import torch.nn.functional as F

    base = torch.from_numpy(np.asarray(start, np.float32).transpose(0, 3, 1, 2))
    params = torch.zeros((base.shape[0], 3, grid, grid))

    def render(p):
        up = F.interpolate(p, size=base.shape[-2:], mode="bilinear", align_corners=False)
        return (base + eps * torch.tanh(up)).clamp(0.0, 255.0)

    return render, params


def reconstruct(targets: np.ndarray, render: Callable | None = None, params=None, start: np.ndarray | None = None,
                steps: int = 60, lr: float = 0.05, smooth_weight: float = 0.05, net=None) -> np.ndarray:
    """Faces (N, 112, 112, 3) uint8 whose SFace-torch embeddings approach unit ``targets`` (N, 128).

    ``render(params) -> (N, 3, 112, 112)`` crops 0-255 RGB is the generator (default
    :func:`smooth_render` of ``start``); the loss is 1 - cosine plus ``smooth_weight`` x total
    variation of the crops (per grey level), with a random 1-pixel shift each step.
    """
    import torch

    from faceqa.privacy.protect import _embed_torch, _net, _tv

    net = net if net is not None else _net()
    if render is None:
        if start is None:
            raise InvalidInputError("reconstruct: give a start face or a renderer")
        render, params = smooth_render(np.repeat(np.asarray(start, np.float32)[None], len(targets), 0))
    params = params.clone().requires_grad_(True)
    goal = torch.from_numpy(np.asarray(targets, np.float32))
    opt = torch.optim.Adam([params], lr=lr)
    gen = torch.Generator().manual_seed(0)
    for _ in range(steps):
        crops = render(params)
        dx, dy = (int(v) for v in torch.randint(-1, 2, (2,), generator=gen))
        emb = _embed_torch(net, torch.roll(crops, (dy, dx), (2, 3)))
        loss = (1.0 - (emb * goal).sum(1)).mean() + smooth_weight * _tv(crops) / 255.0 * 100.0
        opt.zero_grad()
        loss.backward()
        opt.step()
    with torch.no_grad():
        out = render(params)
    return np.clip(np.rint(out.numpy().transpose(0, 2, 3, 1)), 0, 255).astype(np.uint8)


def split_identities(labels: Sequence[str], held_out: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """(train, test) boolean row masks with ``held_out`` whole identities in the test part."""
    names = sorted(set(labels))
    if not 0 < held_out < len(names):
        raise InvalidInputError(f"held_out: expected 1..{len(names) - 1} identities, got {held_out}")
    rng = np.random.default_rng(seed)
    test_ids = set(rng.choice(names, held_out, replace=False).tolist())
    test = np.array([lb in test_ids for lb in labels])
    return ~test, test


def attacked_rows(labels: Sequence[str], rows: np.ndarray, per_identity: int | None) -> np.ndarray:
    """Indices of ``rows`` (a boolean mask) to attack: all, or at most ``per_identity`` evenly spread ones of
    each identity (a video gives dozens of frames of one person; the reconstruction is what costs)."""
    picked = np.flatnonzero(rows)
    if per_identity is None:
        return picked
    if per_identity < 1:
        raise InvalidInputError(f"attack_per_identity: expected a positive number, got {per_identity}")
    out = []
    for name in sorted({labels[i] for i in picked}):
        mine = [i for i in picked if labels[i] == name]
        out += [mine[int(k)] for k in np.unique(np.linspace(0, len(mine) - 1, min(per_identity, len(mine))).round())]
    return np.array(sorted(out), int)


def audit(faces: FaceSet, held_out: int = 3, steps: int = 60, epochs: int = 300, seed: int = 0,
          threads: int = 1, net=None, attack_per_identity: int | None = None) -> dict:
    """The leakage report of dlib embeddings on ``faces`` (see the module docstring).

    Returns a JSON-ready dict: set sizes, the no-attack baseline (start face accepted by dlib), and
    per mapper (``kan``, ``mlp``) the cosine fidelity on every held-out face (mean, and its fraction
    above SFace's match cosine) and the attack success rate by dlib (and by SFace, the white box)
    on the attacked faces: all held-out ones, or ``attack_per_identity`` of each held-out identity.
    """
    from faceqa.perception.identity import DLIB_THRESHOLD, SFACE_THRESHOLD
    from faceqa.privacy.protect import _net
    from faceqa.torch_threads import torch_threads

    with torch_threads(threads):
        start_time = time.perf_counter()
        net = net if net is not None else _net()
        train, test = split_identities(faces.labels, held_out, seed)
        attacked = attacked_rows(faces.labels, test, attack_per_identity)
        start = faces.crops[train].astype(np.float32).mean(0)
        truth_dlib, truth_sface = faces.dlib[attacked], faces.sface[attacked]
        cos_match = 1.0 - SFACE_THRESHOLD ** 2 / 2
        start_crop = np.clip(np.rint(start), 0, 255).astype(np.uint8)[None]
        base_d = np.linalg.norm(dlib_on_crops(start_crop) - truth_dlib, axis=1)
        report: dict = {"leaked": "dlib", "inverted_through": "sface_torch", "train_faces": int(train.sum()),
                        "test_faces": int(test.sum()), "attacked_faces": len(attacked),
                        "identities": len(set(faces.labels)), "held_out_identities": held_out,
                        "held_out": sorted({faces.labels[i] for i in attacked}),
                        "baseline_start_face_dlib_success": round(float((base_d <= DLIB_THRESHOLD).mean()), 4)}
        for kind in ("kan", "mlp"):
            mapping = fit_mapping(kind, faces.dlib[train], faces.sface[train], epochs=epochs, seed=seed)
            fidelity = (mapping(faces.dlib[test]) * faces.sface[test]).sum(1)
            recon = reconstruct(mapping(faces.dlib[attacked]), start=start, steps=steps, net=net)
            d_dlib = np.linalg.norm(dlib_on_crops(recon) - truth_dlib, axis=1)
            s_cos = (sface_on_crops(recon, net) * truth_sface).sum(1)
            report[kind] = {"cosine_fidelity": round(float(fidelity.mean()), 4),
                            "fidelity_above_match": round(float((fidelity >= cos_match).mean()), 4),
                            "attack_success_dlib": round(float((d_dlib <= DLIB_THRESHOLD).mean()), 4),
                            "mean_dlib_distance": round(float(d_dlib.mean()), 4),
                            "attack_success_sface": round(float((s_cos >= cos_match).mean()), 4)}
        report["seconds"] = round(time.perf_counter() - start_time, 2)
        return report


def identity_photos(root: str | os.PathLike[str] | None = None) -> tuple[list[Path], list[str]]:
    """(photos, identity labels) of the deepface set's ``identities_derived.csv`` in the shared data."""
    import csv

    from faceqa.synth.faces import _NOT_USABLE, shared_data_root

    base = Path(root) if root is not None else shared_data_root()
    if base is None:
        raise InvalidInputError("no face photos with identities: pass a folder (FACEQA_TEST_DATA unset)")
    folder = base / "faces" / "deepface"
    table = folder / "identities_derived.csv"
    if not table.is_file():
        raise InvalidInputError(f"{table}: no identity table")
    with open(table, newline="") as f:
        rows = [r for r in csv.DictReader(f) if r["file"] not in _NOT_USABLE]
    paths = [folder / "images" / r["file"] for r in rows]
    keep = [i for i, p in enumerate(paths) if p.is_file()]
    return [paths[i] for i in keep], [rows[i]["identity_cluster"] for i in keep]


IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".webp")


def photos_by_folder(folder: str | os.PathLike[str]) -> tuple[list[Path], list[str]]:
    """(photos, labels) of a folder with one subfolder of face photos per identity (the subfolder's name)."""
    base = Path(folder)
    if not base.is_dir():
        raise InvalidInputError(f"{folder}: not a folder of identity subfolders")
    paths, labels = [], []
    for sub in sorted(p for p in base.iterdir() if p.is_dir()):
        for p in sorted(sub.iterdir()):
            if p.suffix.lower() in IMAGE_SUFFIXES:
                paths.append(p)
                labels.append(sub.name)
    if len(set(labels)) < 2:
        raise InvalidInputError(f"{folder}: need photos of at least two identities (one subfolder each)")
    return paths, labels


def photo_crops(paths: Sequence[str | os.PathLike[str]],
                labels: Sequence[str]) -> tuple[list[np.ndarray], list[str], int]:
    """(aligned RGB crops, their labels, how many photos had no face) of photos and their identity labels."""
    from faceqa.errors import NoFaceError
    from faceqa.media import read_image

    crops, kept, skipped = [], [], 0
    for p, lb in zip(paths, labels, strict=True):
        try:
            crops.append(crop_rgb(read_image(p)))
        except NoFaceError:
            skipped += 1
            continue
        kept.append(lb)
    return crops, kept, skipped


VIDEO_FRAMES = 12
"""Frames sampled per shared clip for the default audit data."""


def default_crops(root: str | os.PathLike[str] | None = None, per_clip: int = VIDEO_FRAMES,
                  cache: str | os.PathLike[str] | None = None) -> tuple[list[np.ndarray], list[str], int]:
    """The default audit data: the deepface identities' photos (:func:`identity_photos`) and the main
    person's faces in ``per_clip`` frames of each shared clip
    (:func:`faceqa.perception.video_faces.shared_video_faces`, one identity per clip, none of them a
    deepface identity); returns (aligned RGB crops, labels, photos without a face)."""
    from faceqa.perception.video_faces import shared_video_faces

    crops, labels, skipped = photo_crops(*identity_photos(root))
    video = shared_video_faces(root, per_clip=per_clip, cache=cache)
    return crops + list(video.rgb_crops()), labels + video.labels, skipped


def audit_crops(crops: Sequence[np.ndarray], labels: Sequence[str], held_out: int = 2, steps: int = 30,
                epochs: int = 300, flips: bool = True, attack_per_identity: int | None = None,
                skipped: int = 0) -> dict:
    """:func:`audit` on aligned RGB crops and their identity labels (``skipped``: photos without a face, reported)."""
    faces = faceset_from_crops(crops, labels, flips=flips)
    return {**audit(faces, held_out=held_out, steps=steps, epochs=epochs, attack_per_identity=attack_per_identity),
            "photos_without_face": skipped}


def audit_photos(paths: Sequence[str | os.PathLike[str]], labels: Sequence[str], held_out: int = 2,
                 steps: int = 30, epochs: int = 300, flips: bool = True) -> dict:
    """:func:`audit` on photos and their identity labels (photos without a face are skipped and counted)."""
    crops, kept, skipped = photo_crops(paths, labels)
    return audit_crops(crops, kept, held_out=held_out, steps=steps, epochs=epochs, flips=flips, skipped=skipped)
