"""Twin-aware verification: an AHAN-style head over frozen SFace-torch feature maps and mesh regions.

Identical twins (and a face and its own mirror image) are nearly the same point for a face
recognizer. The seed's AHAN separates twins with (1) hierarchical cross-attention over facial
regions at several scales, (2) a facial asymmetry attention module (cross-attention between the
left and right half-face), and (3) training that uses each subject's twin as the hardest
distractor. Here those are built as a small trainable head on top of the frozen SFace network:

- Regions (:data:`REGIONS`) are boxes around MediaPipe mesh points in the aligned 112x112 crop:
  nose, mouth, and the subject's right/left eye, brow, cheek and jaw. Each left region is the mirror
  partner of its right one (:data:`PAIRS`), so mirroring a crop flips the boxes and swaps the sides
  (:func:`mirror`).
- Every region is average-pooled from three SFace maps (``conv_6`` 28x28x256, ``conv_12``
  14x14x512, the final 7x7x1024): :func:`pooled_features`.
- The head (:func:`new_head`): a global token (the 7x7 map's mean) attends to the region tokens coarse scale
  to fine (hierarchical cross-attention); the left tokens attend to the right ones and the right
  to the left, and their *signed* difference is the asymmetry signature (a mirror image flips its
  sign, which SFace cannot see); both make a unit twin embedding.
- :func:`train_twin_head`: triplet loss in which every anchor's impostor is its named twin when the
  data names one (``twins``), else the hardest (nearest) other identity in the batch.

Twin-aware verification (:func:`verify_twin_aware`, :func:`twin_aware_same`) says "same" only when
SFace says so at its threshold *and* the twin embeddings are within the head's threshold, so it can
only turn SFace's "same" into "different"; a head saved with an SFace floor is asked only when
SFace's distance is at or above that floor (near-threshold cases). A head ships in
``adapters/twin_head/`` (its README is the model card). Training on ND_TWIN (licensed, not shipped)
is described in the README.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from faceqa.errors import InvalidInputError, ModelUnavailableError

REGIONS: dict[str, tuple[int, ...]] = {
    "nose": (1, 2, 4, 5, 6, 19, 94, 168, 195, 197, 98, 327),
    "mouth": (0, 13, 14, 17, 61, 78, 291, 308),
    "right_eye": (33, 7, 163, 144, 145, 153, 154, 155, 133, 173, 157, 158, 159, 160, 161, 246),
    "left_eye": (263, 249, 390, 373, 374, 380, 381, 382, 362, 398, 384, 385, 386, 387, 388, 466),
    "right_brow": (70, 63, 105, 66, 107, 55, 65, 52, 53, 46),
    "left_brow": (300, 293, 334, 296, 336, 285, 295, 282, 283, 276),
    "right_cheek": (50, 101, 118, 117, 123, 187, 205, 36),
    "left_cheek": (280, 330, 347, 346, 352, 411, 425, 266),
    "right_jaw": (172, 136, 150, 149, 176, 148, 58, 132),
    "left_jaw": (397, 365, 379, 378, 400, 377, 288, 361),
}
"""Facial regions by MediaPipe mesh index; "right" is the subject's right (image left). Each left
list is the point-by-point mirror partner of its right list."""

PAIRS = (("right_eye", "left_eye"), ("right_brow", "left_brow"), ("right_cheek", "left_cheek"),
         ("right_jaw", "left_jaw"))
"""Mirror-symmetric region pairs (subject's right, left)."""

NAMES = tuple(REGIONS)
_RIGHT = [NAMES.index(r) for r, _ in PAIRS]
_LEFT = [NAMES.index(left) for _, left in PAIRS]
_SWAP = [NAMES.index({**{r: le for r, le in PAIRS}, **{le: r for r, le in PAIRS}}.get(n, n)) for n in NAMES]
TAPS = ("conv_6", "conv_12")
"""The SFace blocks whose outputs (28x28x256, 14x14x512) join the final 7x7x1024 map as region features."""
CHANNELS = (256, 512, 1024)
MARGIN = 0.15
"""Each region box is widened by this fraction of its size on every side."""


def region_boxes(crop_landmarks: np.ndarray, margin: float = MARGIN) -> np.ndarray:
    """(R, 4) boxes x0, y0, x1, y1 of :data:`REGIONS` in crop pixels, from the mesh in crop coordinates."""
    p = np.asarray(crop_landmarks, np.float32)[:, :2]
    out = []
    for idx in REGIONS.values():
        q = p[list(idx)]
        lo, hi = q.min(0), q.max(0)
        pad = (hi - lo) * margin + 1.0
        out.append(np.concatenate([lo - pad, hi + pad]))
    return np.clip(np.stack(out), 0, 111).astype(np.float32)


def mirror(crop: np.ndarray, boxes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The mirror image of an aligned crop and its region boxes (flipped, subject's sides swapped)."""
    width = crop.shape[1]
    flipped = np.asarray(boxes, np.float32)[:, [2, 1, 0, 3]].copy()
    flipped[:, [0, 2]] = width - 1 - flipped[:, [0, 2]]
    return np.ascontiguousarray(crop[:, ::-1]), flipped[_SWAP]


def _masks(boxes, size: int):
    """(B, R, size, size) masks: the share of each feature cell inside each box (112-pixel crop coordinates)."""
    import torch

    edges = torch.arange(size + 1, dtype=torch.float32) * (112.0 / size)
    lo, hi = edges[:-1], edges[1:]
    b = boxes.float()

    def cover(a, z):
        return (torch.minimum(hi, z[..., None]) - torch.maximum(lo, a[..., None])).clamp(min=0) / (hi - lo)

    mx, my = cover(b[..., 0], b[..., 2]), cover(b[..., 1], b[..., 3])
    return my[..., :, None] * mx[..., None, :]


def pooled_features(crops: np.ndarray, boxes: np.ndarray, net=None) -> tuple[list, object]:
    """Region features of aligned crops: ([(B, R, 256), (B, R, 512), (B, R, 1024)], global (B, 1024)).

    ``crops`` (B, 112, 112, 3) uint8 in SFace's channel order, ``boxes`` (B, R, 4) from
    :func:`region_boxes`; ``net`` defaults to the registry's frozen ``sface_torch``. Differentiable
    with respect to the crops when they are a tensor that requires grad.
    """
    import torch

    from faceqa.models import get_model

    net = net or get_model("sface_torch")
    x = crops if isinstance(crops, torch.Tensor) else torch.from_numpy(np.asarray(crops)).float()
    x = x.permute(0, 3, 1, 2)
    b = torch.as_tensor(np.asarray(boxes), dtype=torch.float32)
    top, taps = net.features(x, TAPS)
    pooled = []
    for fmap in (taps[TAPS[0]], taps[TAPS[1]], top):
        m = _masks(b, fmap.shape[-1])
        pooled.append(torch.einsum("brhw,bchw->brc", m, fmap) / m.sum((-1, -2)).clamp(min=1e-6)[..., None])
    return pooled, top.mean((-1, -2))


def batched_features(crops: np.ndarray, boxes: np.ndarray, batch: int = 16) -> tuple[list, object]:
    """:func:`pooled_features` of many crops, ``batch`` at a time without gradients, joined."""
    import torch

    with torch.no_grad():
        parts = [pooled_features(np.asarray(crops[i:i + batch]), np.asarray(boxes[i:i + batch]))
                 for i in range(0, len(crops), batch)]
    return [torch.cat([p[0][s] for p in parts]) for s in range(len(CHANNELS))], torch.cat([p[1] for p in parts])


def _head_class():
    import torch
    from torch import nn

    class Head(nn.Module):
        """Hierarchical region cross-attention + left/right asymmetry attention -> unit twin embedding."""

        def __init__(self, dim: int = 32, heads: int = 4):
            super().__init__()
            self.dim = dim
            self.proj = nn.ModuleList(nn.Linear(c, dim) for c in CHANNELS)
            self.region = nn.Parameter(torch.zeros(len(NAMES), dim))
            self.global_proj = nn.Linear(CHANNELS[-1], dim)
            self.hca = nn.ModuleList(nn.MultiheadAttention(dim, heads, batch_first=True) for _ in CHANNELS)
            self.norm = nn.LayerNorm(dim)
            self.l2r = nn.MultiheadAttention(dim, heads, batch_first=True)
            self.r2l = nn.MultiheadAttention(dim, heads, batch_first=True)
            self.asym = nn.Linear(dim, dim)
            self.out = nn.Linear(2 * dim, dim)

        def tokens(self, pooled: Sequence[torch.Tensor]) -> list[torch.Tensor]:
            """Region tokens per scale, fine to coarse: (B, R, dim) each."""
            return [p(f) + self.region for p, f in zip(self.proj, pooled, strict=True)]

        def asymmetry(self, tokens: Sequence[torch.Tensor]) -> torch.Tensor:
            """Signed asymmetry signature (B, dim): left half-face tokens attend to the right and back."""
            left = torch.cat([t[:, _LEFT] for t in tokens], 1)
            right = torch.cat([t[:, _RIGHT] for t in tokens], 1)
            a, _ = self.l2r(left, right, right)
            b, _ = self.r2l(right, left, left)
            return self.asym((left + a - right - b).mean(1))

        def forward(self, pooled: Sequence[torch.Tensor], glob: torch.Tensor) -> torch.Tensor:
            """Unit twin embeddings (B, dim) from :func:`pooled_features`."""
            tokens = self.tokens(pooled)
            g = self.global_proj(glob)[:, None]
            for attn, t in zip(self.hca[::-1], tokens[::-1], strict=True):  # coarse to fine
                step, _ = attn(g, t, t)
                g = self.norm(g + step)
            z = self.out(torch.cat([g[:, 0], self.asymmetry(tokens)], 1))
            return nn.functional.normalize(z, dim=1)

    return Head


def new_head(dim: int = 32, heads: int = 4, seed: int = 0):
    """A freshly initialised twin head (a torch module)."""
    import torch

    torch.manual_seed(seed)
    return _head_class()(dim, heads)


@dataclass
class TrainReport:
    """What :func:`train_twin_head` did: steps, the loss per step, and the threshold it chose."""

    steps: int
    losses: list[float] = field(default_factory=list)
    threshold: float = 1.0


def _impostors(labels, twin_of):
    """(N, N) mask of each anchor's impostors: its named twin's samples, else every other identity's."""
    import torch

    other = labels[:, None] != labels[None, :]
    named = twin_of[labels][:, None] == labels[None, :]
    return torch.where(named.any(1, keepdim=True), named, other)


def _triplet(z, labels, twin_of, margin: float):
    """Mean hinge over anchors: hardest positive vs the named twin's nearest sample or the hardest impostor."""
    import torch

    d = torch.cdist(z, z)
    positive = (labels[:, None] == labels[None, :]) & ~torch.eye(len(z), dtype=torch.bool)
    impostor = _impostors(labels, twin_of)
    pos = torch.where(positive, d, torch.zeros_like(d)).max(1).values
    neg = torch.where(impostor, d, torch.full_like(d, 1e4)).min(1).values
    valid = positive.any(1) & impostor.any(1)
    loss = (pos - neg + margin).clamp(min=0)
    return loss[valid].mean() if valid.any() else loss.sum() * 0


def train_twin_head(pooled: Sequence, glob, labels: Sequence[int], twins: dict[int, int] | None = None,
                    steps: int = 200, lr: float = 3e-3, margin: float = 0.5, head=None,
                    seed: int = 0) -> tuple[object, TrainReport]:
    """Train a twin head (:func:`new_head`) on precomputed :func:`pooled_features` (full batch; the data is small).

    ``labels`` are identity ids; ``twins`` maps an id to its twin's id (both ways), whose samples
    are then that anchor's impostors (the hardest distractor); other anchors take the nearest
    other identity. The threshold is the midpoint between the largest same-identity distance and
    the smallest distance to an anchor's impostors (its twin, else any other identity) on the
    training data, once trained: twin-aware verification only vetoes what looks like a twin.
    """
    import torch

    y = torch.as_tensor(list(labels))
    if len(set(y.tolist())) < 2:
        raise InvalidInputError("twin head training needs at least two identities")
    pairs = dict(twins or {})
    twin_of = torch.full((max([int(y.max()), *pairs, *pairs.values()]) + 1,), -1, dtype=torch.long)
    for a, b in pairs.items():
        twin_of[a], twin_of[b] = b, a
    head = head or new_head(seed=seed)
    opt = torch.optim.AdamW(head.parameters(), lr=lr, weight_decay=1e-4)
    report = TrainReport(steps)
    head.train()
    for _ in range(steps):
        loss = _triplet(head(pooled, glob), y, twin_of, margin)
        opt.zero_grad()
        loss.backward()
        opt.step()
        report.losses.append(loss.item())
    head.eval()
    with torch.no_grad():
        d = torch.cdist(*(2 * [head(pooled, glob)]))
    positive = (y[:, None] == y[None, :]) & ~torch.eye(len(y), dtype=torch.bool)
    far_same = float(d[positive].max()) if positive.any() else 0.0
    near_impostor = float(d[_impostors(y, twin_of)].min())
    report.threshold = (far_same + near_impostor) / 2
    return head, report


def save_head(head, threshold: float, path: str | Path, sface_floor: float | None = None) -> Path:
    """Write a trained head, its threshold and its SFace floor (see :func:`twin_aware_same`) to one torch file."""
    import torch

    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    torch.save({"state": head.state_dict(), "dim": head.dim, "threshold": float(threshold),
                "sface_floor": None if sface_floor is None else float(sface_floor)}, p)
    return p


HEAD_FILE = "twin_head.pt"


def user_head_path() -> Path:
    """``$FACEQA_HOME/twin_head.pt`` (default ~/.faceqa): where a trained head goes, overriding the shipped one."""
    from faceqa.gallery.open import faceqa_home

    return faceqa_home() / HEAD_FILE


def default_head_path() -> Path:
    """The head ``faceqa verify --twin-aware`` uses without ``--twin-head``: :func:`user_head_path` when it
    exists, else the shipped one (``adapters/twin_head/twin_head.pt``, packaged)."""
    from faceqa.resources import packaged

    user = user_head_path()
    return user if user.is_file() else packaged("twin_head") / HEAD_FILE


def load_head(path: str | Path | None = None):
    """(head, threshold, SFace floor or None) from :func:`save_head`'s file (default :func:`default_head_path`);
    ModelUnavailableError names the path when it is missing or not a head."""
    import torch

    p = Path(path) if path is not None else default_head_path()
    if not p.is_file():
        raise ModelUnavailableError(f"{p}: no trained twin head; train one with scripts/train_twin_head.py "
                                    "(see the README's twin-aware section)")
    try:
        saved = torch.load(p, map_location="cpu", weights_only=True)
        head = new_head(dim=int(saved["dim"]))
        head.load_state_dict(saved["state"])
    except (KeyError, RuntimeError, ValueError) as exc:
        raise ModelUnavailableError(f"{p}: not a twin head file ({exc})") from None
    floor = saved.get("sface_floor")
    return head.eval(), float(saved["threshold"]), None if floor is None else float(floor)


def twin_aware_same(sface_distance, twin_ratio, sface_threshold: float, scale: float = 1.0,
                    sface_floor: float | None = None):
    """Twin-aware decision: SFace says same, and the head agrees (``twin_ratio``, its distance over its
    threshold, at most ``scale``) unless SFace is surer than ``sface_floor`` (its distance below it; None:
    always ask the head). The head can only turn SFace's "same" into "different". Works on arrays."""
    d = np.asarray(sface_distance)
    head = np.asarray(twin_ratio) <= scale
    if sface_floor is not None:
        head = head | (d < sface_floor)
    return (d <= sface_threshold) & head


def crop_and_boxes(image_rgb: np.ndarray, face) -> tuple[np.ndarray, np.ndarray]:
    """The aligned SFace crop of one face and its region boxes (one mesh pass)."""
    from faceqa.perception.identity import get_embedder
    from faceqa.perception.sface import align

    lm = get_embedder("sface").landmarks(image_rgb, face)
    crop, crop_lm = align(image_rgb, lm)
    return crop, region_boxes(crop_lm)


def twin_embeddings(crops: np.ndarray, boxes: np.ndarray, head) -> np.ndarray:
    """Unit twin embeddings (B, dim) of aligned crops and their region boxes."""
    import torch

    with torch.no_grad():
        pooled, glob = pooled_features(crops, boxes)
        return head(pooled, glob).numpy()


def verify_twin_aware(image_a, image_b, head_path: str | Path | None = None, threshold: float | None = None) -> dict:
    """SFace verification, then the twin head (:func:`twin_aware_same`): same only when both agree, the
    head asked only where SFace's distance is at or above the head's SFace floor (when it has one).

    Returns :func:`faceqa.perception.identity.verify`'s dict with ``twin_distance``,
    ``twin_threshold``, ``twin_sface_floor`` and ``same`` (the twin-aware answer); ``sface_same`` keeps
    SFace's own answer.
    """
    from faceqa.perception.detection import largest_face
    from faceqa.perception.identity import check_threshold, distance, get_embedder, load_input

    head, twin_t, floor = load_head(head_path)
    t = check_threshold(threshold, "sface")
    crops, boxes = [], []
    for image, name in ((image_a, "image_a"), (image_b, "image_b")):
        rgb, label = load_input(image, name)
        crop, box = crop_and_boxes(rgb, largest_face(rgb, name=label))
        crops.append(crop)
        boxes.append(box)
    crops_arr, boxes_arr = np.stack(crops), np.stack(boxes)
    e = get_embedder("sface").embed_crops(crops_arr)
    z = twin_embeddings(crops_arr, boxes_arr, head)
    d, dz = distance(e[0], e[1]), distance(z[0], z[1])
    return {"same": bool(twin_aware_same(d, dz / twin_t, t, sface_floor=floor)), "distance": d, "threshold": t,
            "model": "sface", "sface_same": d <= t, "twin_distance": dz, "twin_threshold": twin_t,
            "twin_sface_floor": floor}
