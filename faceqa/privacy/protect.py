"""MAP-style protection against face recognizers: a plausible expression change that reads as someone else.

:func:`protect` changes one photo so that a recognizer matches its face to a chosen *target*
identity instead of the true one, with changes confined to the face:

- an expression: mesh-guided warps of expression regions, the synthetic AU generator's unit
  fields (:class:`faceqa.synth.FaceWarper`, one per AU and side) weighted by amounts in
  ``[0, MAX_AU]`` (FACS intensity, 1.0 = E);
- a texture change: a smooth perturbation (a coarse grid upsampled bilinearly), bounded by
  ``eps`` grey levels through ``tanh`` and feathered to the face's mesh hull.

Both are optimised through the differentiable SFace (:func:`faceqa.perception.sface.load_torch`)
for two objectives: *look like the target* (cosine to the target's embedding up, to the source's
down) and *keep a plausible expression* (small, left/right-balanced AU amounts). Their gradients
are combined by :func:`project_conflicting` (PCGrad: each loses its component that conflicts with
the other), and a local smoothness penalty (total variation of the perturbation and of the warp)
is added. The crop alignment is jittered every step so the result survives re-detection.

This is a white-box attack on SFace; against other recognizers (dlib) it is transfer only and
:func:`evaluate_protection` reports how far it carries.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from faceqa.errors import InvalidInputError

PROTECT_AUS = (1, 2, 4, 6, 7, 9, 10, 12, 14, 15, 17, 20)
"""AUs whose warps the protection may use (each side separately where the AU has sides)."""
MAX_AU = 0.6
"""Largest amount of any AU (FACS intensity; 0.6 is between C and D)."""
EPS = 12.0
"""Default bound of the texture perturbation, in grey levels (0-255)."""
GRID = 48
"""Side of the coarse perturbation grid over the face box (upsampled bilinearly: a smooth change)."""


@dataclass
class ProtectResult:
    """What :func:`protect` returns: the protected image and how the optimisation went."""

    image: np.ndarray
    amounts: dict[str, float]
    steps: int
    seconds: float
    white_box: dict[str, float] = field(default_factory=dict)

    def to_dict(self) -> dict:
        """JSON-ready summary (without the image)."""
        return {"amounts": self.amounts, "steps": self.steps, "seconds": round(self.seconds, 3),
                "white_box": self.white_box}


def project_conflicting(grads: list, eps: float = 1e-12) -> list:
    """PCGrad: each flat gradient minus its projection on every other one it conflicts with.

    Two gradients conflict when their dot product is negative; ``g_i`` then becomes
    ``g_i - (g_i . g_j / |g_j|^2) g_j``, using the *original* ``g_j`` (torch or numpy 1-D vectors).
    The projected ``g_i`` is orthogonal to each ``g_j`` it conflicted with; non-conflicting ones
    are unchanged. Returns the projected gradients (sum them for the update).
    """
    out = []
    for i, g in enumerate(grads):
        p = g.clone() if hasattr(g, "clone") else np.array(g, dtype=np.float64)
        for j, h in enumerate(grads):
            if i == j:
                continue
            dot = float((p * h).sum())
            if dot < 0:
                p = p - dot / max(float((h * h).sum()), eps) * h
        out.append(p)
    return out


def _units(warper, aus: tuple[int, ...]) -> tuple[list[str], np.ndarray]:
    """(names, (K, h, w, 2) forward fields in crop pixels) of the usable (AU, side) units."""
    from faceqa.synth.actions import BILATERAL_ONLY

    h, w = int(warper.y1 - warper.y0), int(warper.x1 - warper.x0)
    names, fields = [], []
    for au in aus:
        for side in (("both",) if au in BILATERAL_ONLY else ("L", "R")):
            u = warper.unit(au, side)
            if u.common is None:
                continue
            full = np.zeros((h, w, 2), np.float32)
            y0, y1, x0, x1 = u.support
            full[y0:y1, x0:x1] = u.common[..., :2]
            names.append(f"AU{au}{'' if side == 'both' else side}")
            fields.append(full)
    return names, np.stack(fields) if fields else np.zeros((0, h, w, 2), np.float32)


def face_mask(landmarks: np.ndarray, shape: tuple[int, int], feather: float = 0.04) -> np.ndarray:
    """Soft (h, w) mask in [0, 1] of the mesh's convex hull, feathered by ``feather`` of its size."""
    import cv2

    pts = np.asarray(landmarks, np.float32)[:, :2]
    mask = np.zeros(shape, np.float32)
    cv2.fillConvexPoly(mask, cv2.convexHull(pts).astype(np.int32), 1.0)
    size = float(np.ptp(pts, axis=0).max())
    sigma = max(1.0, feather * size)
    mask = cv2.GaussianBlur(mask, (0, 0), sigma) * mask
    return np.clip(mask * 2.0, 0.0, 1.0)


def _crop_grid(matrix: np.ndarray, offset: tuple[int, int], shape: tuple[int, int], crop: int):
    """grid_sample grid (1, crop, crop, 2) reading the region ``shape`` (h, w) at image offset
    (x0, y0) through the inverse of the 2x3 image->crop ``matrix``."""
    import torch

    m = np.vstack([matrix, [0, 0, 1]]).astype(np.float64)
    inv = np.linalg.inv(m)[:2]
    ys, xs = np.mgrid[0:crop, 0:crop].astype(np.float64)
    src = np.stack([xs, ys, np.ones_like(xs)], -1) @ inv.T
    h, w = shape
    gx = 2 * (src[..., 0] - offset[0]) / (w - 1) - 1
    gy = 2 * (src[..., 1] - offset[1]) / (h - 1) - 1
    return torch.from_numpy(np.stack([gx, gy], -1)[None].astype(np.float32))


def _jitter(matrix: np.ndarray, rng: np.random.Generator, shift: float = 1.5, scale: float = 0.03) -> np.ndarray:
    """The alignment moved by a random shift (crop pixels) and scale about the crop centre."""
    s = 1.0 + rng.uniform(-scale, scale)
    c = 56.0
    m = matrix.astype(np.float64).copy()
    m[:, :2] *= s
    m[:, 2] = s * (m[:, 2] - c) + c + rng.uniform(-shift, shift, 2)
    return m


def _embed_torch(net, crop_rgb):
    """Unit embeddings of (N, 3, 112, 112) RGB crops 0-255 (channel order fixed for SFace)."""
    import torch

    from faceqa.perception.sface import CHANNELS

    x = crop_rgb.flip(1) if CHANNELS == "BGR" else crop_rgb
    return torch.nn.functional.normalize(net(x), dim=1)


def _face_and_mesh(image: np.ndarray, name: str) -> tuple[tuple[float, float, float, float], np.ndarray]:
    """(largest face box, its 468-point mesh in image pixels)."""
    from faceqa.perception.detection import largest_face
    from faceqa.perception.identity import SFaceEmbedder

    det = largest_face(image, name=name)
    return tuple(det.bbox), SFaceEmbedder.landmarks(image, det)


def target_embedding(target_rgb: np.ndarray, net=None, name: str = "target") -> np.ndarray:
    """The (128,) unit SFace-torch embedding of the largest face of ``target_rgb``."""
    import torch

    from faceqa.perception.sface import align_crop, five_points

    net = net if net is not None else _net()
    _, mesh = _face_and_mesh(target_rgb, name)
    crop = align_crop(target_rgb, five_points(mesh))
    rgb = crop[..., ::-1] if _bgr() else crop
    x = torch.from_numpy(np.ascontiguousarray(rgb, np.float32).transpose(2, 0, 1))[None]
    with torch.no_grad():
        return _embed_torch(net, x)[0].numpy()


def _bgr() -> bool:
    from faceqa.perception.sface import CHANNELS

    return CHANNELS == "BGR"


def _net():
    from faceqa.models import get_model

    return get_model("sface_torch")


def protect(image: np.ndarray, target: np.ndarray, steps: int = 80, eps: float = EPS, max_au: float = MAX_AU,
            lr: float = 0.12, expression_weight: float = 1.0, smooth_weight: float = 0.5, margin: float = 0.15,
            seed: int = 0, threads: int = 1, net=None) -> ProtectResult:
    """Protect the largest face of ``image`` (RGB uint8) by making SFace read it as ``target``'s.

    Args:
        image: the photo to protect.
        target: a photo of the target identity (another person), or its (128,) SFace embedding.
        steps: most optimisation steps (stops early once the white-box match holds with ``margin``).
        eps: bound of the texture perturbation in grey levels.
        max_au: largest AU amount of the expression warp.
        lr: Adam step size.
        expression_weight: weight of the "plausible expression" objective before projection.
        smooth_weight: weight of the local smoothness penalty.
        margin: cosine margin past SFace's threshold at which to stop.
        seed: seed of the alignment jitter.
        threads: torch CPU threads while optimising (restored after; one is fastest on a busy machine).
        net: an SFace torch module (default the registry's ``sface_torch``).
    Returns a :class:`ProtectResult`; the image is uint8 RGB of the input's size.
    """
    from faceqa.torch_threads import torch_threads

    if steps < 0 or eps < 0 or max_au < 0:
        raise InvalidInputError("protect: steps, eps and max_au must not be negative")
    with torch_threads(threads):
        return _protect(image, target, steps, eps, max_au, lr, expression_weight, smooth_weight, margin, seed, net)


def _protect(image, target, steps, eps, max_au, lr, expression_weight, smooth_weight, margin, seed, net
             ) -> ProtectResult:
    import torch
    import torch.nn.functional as F

    from faceqa.perception.identity import SFACE_THRESHOLD
    from faceqa.perception.sface import CROP, alignment_matrix, five_points
    from faceqa.synth.anatomy import anatomy_from_mesh
    from faceqa.synth.warp import FaceWarper

    start = time.perf_counter()
    net = net if net is not None else _net()
    rgb = np.ascontiguousarray(image[..., :3], np.uint8)
    t_emb = np.asarray(target, np.float32) if np.ndim(target) == 1 else target_embedding(target, net)
    _, mesh = _face_and_mesh(rgb, "image")
    warper = FaceWarper(anatomy_from_mesh(mesh), rgb.shape)
    x0, y0, x1, y1 = (int(v) for v in (warper.x0, warper.y0, warper.x1, warper.y1))
    h, w = y1 - y0, x1 - x0
    names, fields = _units(warper, PROTECT_AUS)
    mask_np = face_mask(mesh[:, :2] - np.array([x0, y0], np.float32), (h, w))
    matrix = alignment_matrix(five_points(mesh))

    region = torch.from_numpy(rgb[y0:y1, x0:x1].astype(np.float32).transpose(2, 0, 1))[None]
    flows = torch.from_numpy(fields)
    mask = torch.from_numpy(mask_np)[None, None]
    ys, xs = torch.meshgrid(torch.arange(h, dtype=torch.float32), torch.arange(w, dtype=torch.float32), indexing="ij")
    base = torch.stack([xs, ys], -1)
    norm = torch.tensor([2.0 / max(w - 1, 1), 2.0 / max(h - 1, 1)])
    target_t = torch.from_numpy(t_emb / max(float(np.linalg.norm(t_emb)), 1e-12))
    with torch.no_grad():
        source_t = _embed_torch(net, F.grid_sample(region, _crop_grid(matrix, (x0, y0), (h, w), CROP),
                                                   align_corners=True, padding_mode="border"))[0]
    logits = torch.full((len(names),), -3.0, requires_grad=True)
    delta = torch.zeros((1, 3, GRID, GRID), requires_grad=True)
    params = [logits, delta]
    opt = torch.optim.Adam(params, lr=lr)
    pairs = [(names.index(n), names.index(n[:-1] + "R")) for n in names if n.endswith("L") and n[:-1] + "R" in names]
    cos_threshold = 1.0 - SFACE_THRESHOLD ** 2 / 2
    rng = np.random.default_rng(seed)

    def render():
        amounts = max_au * torch.sigmoid(logits)
        flow = (amounts[:, None, None, None] * flows).sum(0) if len(names) else torch.zeros(h, w, 2)
        grid = ((base - flow) * norm - 1.0)[None]
        warped = F.grid_sample(region, grid, align_corners=True, padding_mode="border")
        texture = eps * torch.tanh(F.interpolate(delta, size=(h, w), mode="bilinear", align_corners=False))
        out = (warped + texture * mask).clamp(0.0, 255.0)
        return out, amounts, flow, texture

    done = 0
    sim_t = sim_s = float("nan")
    for step in range(steps):
        out, amounts, flow, texture = render()
        m = _jitter(matrix, rng) if step % 2 else matrix
        emb = _embed_torch(net, F.grid_sample(out, _crop_grid(m, (x0, y0), (h, w), CROP), align_corners=True,
                                              padding_mode="border"))[0]
        sim_t, sim_s = float(emb.detach() @ target_t), float(emb.detach() @ source_t)
        done = step + 1
        if sim_t > cos_threshold + margin and sim_s < cos_threshold - margin:
            break
        l_id = -(emb @ target_t) + 2.0 * F.relu(emb @ source_t - (cos_threshold - margin))
        rel = amounts / max(max_au, 1e-6)
        l_expr = (rel ** 2).mean()
        if pairs:
            li, ri = zip(*pairs, strict=True)
            l_expr = l_expr + ((rel[list(li)] - rel[list(ri)]) ** 2).mean()
        l_expr = expression_weight * l_expr
        l_smooth = smooth_weight * (_tv(texture) / max(eps, 1e-6) + _tv(flow.permute(2, 0, 1)[None]))
        g_id = torch.autograd.grad(l_id, params, retain_graph=True, allow_unused=True)
        g_ex = torch.autograd.grad(l_expr, params, retain_graph=True, allow_unused=True)
        g_sm = torch.autograd.grad(l_smooth, params, allow_unused=True)
        flat = [_flatten(g, params) for g in (g_id, g_ex)]
        total = sum(project_conflicting(flat)) + _flatten(g_sm, params)
        opt.zero_grad()
        offset = 0
        for p in params:
            p.grad = total[offset:offset + p.numel()].view_as(p).clone()
            offset += p.numel()
        opt.step()
    with torch.no_grad():
        out, amounts, _, _ = render()
    result = rgb.copy()
    result[y0:y1, x0:x1] = np.clip(np.rint(out[0].numpy().transpose(1, 2, 0)), 0, 255).astype(np.uint8)
    return ProtectResult(result, {n: round(float(a), 4) for n, a in zip(names, amounts, strict=True)}, done,
                         time.perf_counter() - start,
                         {"cos_target": round(sim_t, 4), "cos_source": round(sim_s, 4),
                          "cos_threshold": round(cos_threshold, 4)})


def _tv(x) -> object:
    """Mean absolute difference of neighbouring pixels of a (1, C, H, W) tensor."""
    return (x[..., 1:, :] - x[..., :-1, :]).abs().mean() + (x[..., :, 1:] - x[..., :, :-1]).abs().mean()


def _flatten(grads, params):
    import torch

    return torch.cat([(torch.zeros_like(p) if g is None else g).reshape(-1) for g, p in zip(grads, params,
                                                                                            strict=True)])


def _embed_both(image: np.ndarray, name: str) -> dict[str, np.ndarray]:
    """SFace (onnxruntime, re-detected and re-meshed) and dlib embeddings of the largest face."""
    from faceqa.perception.identity import embed_largest_face, get_embedder

    return {m: embed_largest_face(image, name, embedder=get_embedder(m)) for m in ("sface", "dlib")}


def _top_expression(image: np.ndarray, box) -> str:
    from faceqa.perception.expression import EmotionClassifier

    probs = EmotionClassifier().predict(image, box)
    return max(probs, key=probs.get)


def evaluate_protection(original: np.ndarray, protected: np.ndarray, target: np.ndarray) -> dict:
    """How the protection fares: per recognizer (``sface`` = the white box, re-detected; ``dlib`` =
    black box) whether the protected face still matches the source and now matches the target
    (``success`` = matches the target and not the source), PSNR/SSIM on the face box and the
    expression classifier's top class before and after."""
    from faceqa.perception.detection import largest_face
    from faceqa.perception.identity import THRESHOLDS, distance
    from faceqa.privacy.evaluate import region_quality

    src, prot, tgt = _embed_both(original, "image"), _embed_both(protected, "protected"), _embed_both(target, "target")
    out: dict = {}
    for m in ("sface", "dlib"):
        d_src, d_tgt = distance(prot[m], src[m]), distance(prot[m], tgt[m])
        t = THRESHOLDS[m]
        out[m] = {"distance_source": round(d_src, 4), "distance_target": round(d_tgt, 4), "threshold": t,
                  "matches_source": d_src <= t, "matches_target": d_tgt <= t,
                  "success": d_tgt <= t and d_src > t}
    box = tuple(largest_face(original, name="image").bbox)
    h, w = original.shape[:2]
    x0, y0, x1, y1 = (max(0, int(box[0])), max(0, int(box[1])), min(w, int(box[2]) + 1), min(h, int(box[3]) + 1))
    psnr, ssim = region_quality(original, protected, (x0, y0, x1, y1))
    before, after = _top_expression(original, box), _top_expression(protected, box)
    out.update({"psnr": round(psnr, 2), "ssim": round(ssim, 4), "face_box": [x0, y0, x1, y1],
                "expression_before": before, "expression_after": after, "expression_changed": before != after})
    return out


def protect_image(image: str | os.PathLike[str], target: str | os.PathLike[str], out: str | os.PathLike[str],
                  evaluate: bool = False, steps: int = 80, eps: float = EPS, max_au: float = MAX_AU,
                  seed: int = 0) -> dict:
    """Protect the largest face of the photo ``image`` towards the identity in ``target``; write ``out``.

    ``out`` should be lossless (``.png``): JPEG compression erodes the perturbation. Returns a
    JSON-ready dict: ``image``, ``target``, ``out``, the optimisation summary of
    :class:`ProtectResult` and, with ``evaluate``, ``evaluation`` (:func:`evaluate_protection`,
    plus ``seconds``).
    """
    import cv2

    from faceqa.media import read_image

    dest = Path(out)
    if dest.suffix.lower() not in (".png", ".jpg", ".jpeg", ".bmp", ".webp"):
        raise InvalidInputError(f"{out}: the output must be an image file (.png recommended)")
    src, tgt = read_image(image), read_image(target)
    result = protect(src, tgt, steps=steps, eps=eps, max_au=max_au, seed=seed)
    dest.parent.mkdir(parents=True, exist_ok=True)
    if not cv2.imwrite(str(dest), np.ascontiguousarray(result.image[..., ::-1])):
        raise InvalidInputError(f"{out}: could not write the image")
    report = {"image": str(image), "target": str(target), "out": str(dest), **result.to_dict()}
    if evaluate:
        report["evaluation"] = evaluate_protection(src, read_image(dest), tgt)
    return report
