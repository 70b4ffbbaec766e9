"""Rendering: turn AU amounts into a warped face, fast enough for clips (fields cached per face).

:class:`FaceWarper` holds, for one face (one anatomy on one image size), the displacement field
in pixels of every (AU, side) at intensity 1.0, computed on first use on a crop around the face.
A frame's field is the intensity-weighted sum of those unit fields (linear model), on the box of
the crop the active units move; the warp is backward (``cv2.remap``), with the forward field
inverted by Newton's method, so a point of the face lands where the muscle model moves it. Where
layers split (lids, lips) the top, bottom and mid layers are warped separately and composited by
coverage; the mouth that opens between the lips is painted (cavity, teeth, tongue).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import cv2
import numpy as np

from faceqa.synth.actions import action, check_au
from faceqa.synth.anatomy import Anatomy
from faceqa.synth.layers import Deformation, Field, SplitRegion, split_regions

CAVITY_RGB = np.array([42.0, 18.0, 22.0], np.float32)
"""Colour of the inside of a newly opened mouth (deep red-brown, in shade)."""
TEETH_RGB = np.array([218.0, 210.0, 196.0], np.float32)
TONGUE_RGB = np.array([150.0, 62.0, 66.0], np.float32)
FACE_BOX = (-1.6, 1.6, -1.5, 1.15)
"""Crop around the face in face coordinates: u range, v from the top, and v below the menton."""
EDGE_PX = 6.0


@dataclass
class UnitField:
    """One (AU, side) at intensity 1.0 in pixels: (h, w, 6) arrays (the field and its Jacobian, see
    :func:`with_jacobian`) on the crop pixels ``support`` it moves, or None."""

    common: np.ndarray | None
    top: np.ndarray | None = None
    bottom: np.ndarray | None = None
    mid: np.ndarray | None = None
    regions: tuple[str, ...] = ()
    support: tuple[int, int, int, int] = (0, 0, 0, 0)
    """(y0, y1, x0, x1): the crop pixels the unit moves (with a margin)."""


@dataclass
class Frame:
    """A frame's fields: summed unit fields (h, w, 6) per layer on crop ``box``, and split regions."""

    box: tuple[slice, slice]
    layers: dict[str, np.ndarray]
    regions: set[str]


def _acc(total: np.ndarray | None, part: np.ndarray | None, k: float) -> np.ndarray | None:
    """``total + k * part``, where either may be None (no motion)."""
    if part is None:
        return total
    return part * k if total is None else total + part * k


class FaceWarper:
    """Warps one face by AU amounts; unit fields are computed once per (AU, side) and cached.

    Args:
        anatomy: the face's anatomy (:func:`faceqa.synth.anatomy.anatomy_from_mesh`).
        image_shape: (height, width) of the images it will warp.
    """

    def __init__(self, anatomy: Anatomy, image_shape: tuple[int, ...]):
        self.anatomy = a = anatomy
        h, w = int(image_shape[0]), int(image_shape[1])
        u0, u1, v0, dv = FACE_BOX
        corners = a.to_image(np.array([[u0, v0], [u1, v0], [u0, a.menton[1] + dv], [u1, a.menton[1] + dv]]))
        x0, y0 = np.floor(corners.min(0)).astype(int)
        x1, y1 = np.ceil(corners.max(0)).astype(int) + 1
        self.x0, self.y0 = max(0, x0), max(0, y0)
        self.x1, self.y1 = min(w, x1), min(h, y1)
        if self.x1 - self.x0 < 8 or self.y1 - self.y0 < 8:
            raise ValueError("the face lies outside the image")
        ch, cw = self.y1 - self.y0, self.x1 - self.x0
        gx, gy = np.meshgrid(np.arange(cw, dtype=np.float32), np.arange(ch, dtype=np.float32))
        self.grid = np.dstack([gx, gy])
        uv = a.to_face(np.dstack([gx + self.x0, gy + self.y0]))
        self.U, self.V = uv[..., 0], uv[..., 1]
        edge = np.minimum.reduce([gx, gy, cw - 1 - gx, ch - 1 - gy]) / EDGE_PX
        edge = np.clip(edge, 0.0, 1.0)
        self.window = (edge * edge * (3 - 2 * edge)).astype(np.float32)
        self.regions = split_regions(a)
        self.eps = 0.7 / a.iod
        self.static = self._static_maps()
        self._units: dict[tuple[int, str], UnitField] = {}

    def _static_maps(self) -> np.ndarray:
        """Per crop pixel: signed IOD below line1 and line2 of its region, span weight, cavity flag."""
        out = np.zeros(self.U.shape + (4,), np.float32)
        for r in self.regions.values():
            inside = r.inside(self.U, self.V)
            u, v = self.U[inside], self.V[inside]
            out[inside] = np.stack([v - r.v1(u), v - r.v2(u), r.span_weight(u),
                                    np.full_like(u, float(r.cavity))], axis=1)
        return out

    def _to_pixels(self, f: Field | None) -> np.ndarray | None:
        if f is None:
            return None
        dx, dy = self.anatomy.vector_to_image(f[0], f[1])
        return (np.dstack([dx, dy]) * self.window[..., None]).astype(np.float32)

    def _mid(self, au: int, side: str, d: Deformation) -> np.ndarray | None:
        """The mid layer's extra motion: between the lines, interpolated from what the top layer
        does on line1 and the bottom layer on line2, keeping only motion that opens the gap."""
        total = None
        a = self.anatomy
        for name in d.splits:
            r: SplitRegion = self.regions[name]
            if r.cavity:  # a mouth's mid layer is painted, not moved
                continue
            inside = r.inside(self.U, self.V)
            u, v = self.U[inside], self.V[inside]
            v1, v2 = r.v1(u), r.v2(u)
            top = action(a, au, side, u, v1).splits.get(name, (None, None))[0]
            bot = action(a, au, side, u, v2).splits.get(name, (None, None))[1]
            zero = np.zeros_like(u)
            tu, tv = top if top is not None else (zero, zero)
            bu, bv = bot if bot is not None else (zero, zero)
            tv = np.minimum(tv, 0.0)  # the upper boundary may only move up (opening)
            bv = np.maximum(bv, 0.0)  # the lower boundary only down
            gap = v2 - v1
            p = np.where(gap > 1e-3, np.clip((v - v1) / np.maximum(gap, 1e-3), 0.0, 1.0), 0.5)
            near = 1.0 - np.clip(np.maximum(v1 - v, v - v2) / 0.1, 0.0, 1.0)
            mu = ((1 - p) * tu + p * bu) * near
            mv = ((1 - p) * tv + p * bv) * near
            fu, fv = np.zeros_like(self.U), np.zeros_like(self.U)
            fu[inside], fv[inside] = mu, mv
            total = _acc(total, self._to_pixels((fu, fv)), 1.0)
        return total

    def unit(self, au: int | str, side: str) -> UnitField:
        """The pixel field of ``au`` on ``side`` at intensity 1.0 (computed once, then cached);
        ``au`` may also be ``"yaw"`` or ``"pitch"``: the head-turn parallax per degree."""
        key = (au if isinstance(au, str) else int(au), side)
        if key not in self._units:
            if au in ("yaw", "pitch"):
                from faceqa.synth.head import parallax

                d = parallax(self.anatomy, self.U, self.V, au)
            else:
                check_au(au, side)
                d = action(self.anatomy, au, side, self.U, self.V)
            top = bottom = None
            for t, b in d.splits.values():
                top = _acc(top, self._to_pixels(t), 1.0)
                bottom = _acc(bottom, self._to_pixels(b), 1.0)
            mid = self._mid(au, side, d) if d.splits else None
            if mid is not None and not np.any(mid):
                mid = None
            common = self._to_pixels(d.common)
            jac = [None if f is None else with_jacobian(f) for f in (common, top, bottom, mid)]
            y0, y1, x0, x1 = sup = _support(jac)
            jac = [None if f is None else np.ascontiguousarray(f[y0:y1, x0:x1]) for f in jac]
            self._units[key] = UnitField(*jac, regions=tuple(d.splits), support=sup)
        return self._units[key]

    def fields(self, amounts: Mapping[tuple[int, str], float]) -> Frame | None:
        """A frame's summed fields on the smallest crop box holding every active unit's support."""
        active = [(self.unit(au, side), k) for (au, side), k in amounts.items() if k]
        active = [(u, k) for u, k in active if u.support[1] > u.support[0]]
        if not active:
            return None
        y0, x0 = min(u.support[0] for u, _ in active), min(u.support[2] for u, _ in active)
        y1, x1 = max(u.support[1] for u, _ in active), max(u.support[3] for u, _ in active)
        shape = (y1 - y0, x1 - x0, 6)
        layers: dict[str, np.ndarray] = {}
        regions: set[str] = set()
        for u, k in active:
            sy, ey, sx, ex = u.support
            box = (slice(sy - y0, ey - y0), slice(sx - x0, ex - x0))
            for name in ("common", "top", "bottom", "mid"):
                f = getattr(u, name)
                if f is not None:
                    if name not in layers:
                        layers[name] = np.zeros(shape, np.float32)
                    layers[name][box] += k * f
            regions.update(u.regions)
        return Frame((slice(y0, y1), slice(x0, x1)), layers, regions)

    def _invert(self, f: np.ndarray, origin: tuple[int, int], box: tuple[slice, slice]) -> np.ndarray:
        """Backward map (crop coordinates) of a forward field ``f`` (h, w, 6: the field and its
        Jacobian, on the crop box starting at ``origin`` = (y, x); zero outside it): for each pixel p
        of ``box`` (in ``f``'s coordinates), the src with src + f(src) = p.

        Newton's method from the first-order guess ``p - f(p)``, steps capped at 0.06 IOD, so that
        stretches steeper than 1:1 (a lower lip pulled far from the upper one) converge too; pixels
        leave the iteration once within 0.1 px."""
        oy, ox = origin
        local = self.grid[oy:oy + f.shape[0], ox:ox + f.shape[1]][box]
        shape = local.shape
        g = local.reshape(-1, 2)
        offset = np.array([ox, oy], np.float32)
        src = g - f[box][..., :2].reshape(-1, 2)
        cap = 0.06 * self.anatomy.iod
        s = cv2.remap(f, (src - offset).reshape(shape), None, cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT,
                      borderValue=0).reshape(-1, 6)
        r = src + s[:, :2] - g
        idx = np.arange(len(src))
        for _ in range(6):
            bad = np.maximum(np.abs(r[:, 0]), np.abs(r[:, 1])) > 0.1
            if not bad.any():
                break
            idx, r, s = idx[bad], r[bad], s[bad]
            a, b, c, d = 1.0 + s[:, 2], s[:, 3], s[:, 4], 1.0 + s[:, 5]
            det = np.maximum(a * d - b * c, 0.1)
            step = np.stack([(d * r[:, 0] - b * r[:, 1]) / det, (a * r[:, 1] - c * r[:, 0]) / det], axis=1)
            step *= np.minimum(1.0, cap / (np.hypot(step[:, 0], step[:, 1]) + 1e-6))[:, None]
            src[idx] -= step
            s = _sample(f, src[idx] - offset)
            r = src[idx] + s[:, :2] - g[idx]
        return src.reshape(shape).astype(np.float32)

    def _pixel_box(self, name: str) -> tuple[slice, slice]:
        """The crop pixels covering a region's box."""
        u0, u1, v0, v1 = self.regions[name].box
        pts = self.anatomy.to_image(np.array([[u0, v0], [u1, v0], [u0, v1], [u1, v1]])) - (self.x0, self.y0)
        x0, y0 = np.maximum(np.floor(pts.min(0)).astype(int) - 2, 0)
        x1, y1 = np.ceil(pts.max(0)).astype(int) + 3
        return slice(y0, min(y1, self.grid.shape[0])), slice(x0, min(x1, self.grid.shape[1]))

    def warp(self, image: np.ndarray, amounts: Mapping[tuple[int, str], float]) -> np.ndarray:
        """``image`` with the face deformed by ``{(au, side): intensity}`` (a new array)."""
        fr = self.fields(amounts)
        if fr is None:
            return image
        crop = image[self.y0:self.y1, self.x0:self.x1]
        wy, wx = fr.box
        origin = (wy.start, wx.start)
        h, w = wy.stop - wy.start, wx.stop - wx.start
        base = fr.layers.get("common")
        if base is None:
            base = np.zeros((h, w, 6), np.float32)
        whole = (slice(0, h), slice(0, w))
        src = self._invert(base, origin, whole)
        out = image.copy()
        warped = out[self.y0:self.y1, self.x0:self.x1]
        warped[fr.box] = cv2.remap(crop, src, None, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)
        extras = [fr.layers.get(n) for n in ("top", "bottom", "mid")]
        fields = [base if x is None else base + x for x in extras]
        for name in fr.regions:
            rb = self._pixel_box(name)
            ly = slice(max(rb[0].start, wy.start) - wy.start, min(rb[0].stop, wy.stop) - wy.start)
            lx = slice(max(rb[1].start, wx.start) - wx.start, min(rb[1].stop, wx.stop) - wx.start)
            if ly.stop <= ly.start or lx.stop <= lx.start:
                continue
            local = (ly, lx)
            srcs = []
            for f, x in zip(fields, extras, strict=True):
                moves = x is not None and bool(np.any(np.abs(x[local][..., :2]) > 0.02))
                srcs.append(self._invert(f, origin, local) if moves else src[local])
            glob = (slice(ly.start + wy.start, ly.stop + wy.start), slice(lx.start + wx.start, lx.stop + wx.start))
            warped[glob] = self._composite(crop, glob, srcs)
        return out

    def _composite(self, crop, box, srcs) -> np.ndarray:
        """The top, bottom and mid layers (backward maps ``srcs``) on crop ``box``, composited by
        coverage: the top layer where its source lies above line1, then the bottom layer where its
        source lies below line2, then the mid layer (eyeball, or the painted mouth cavity)."""
        layers = []
        for src in srcs:
            img = cv2.remap(crop, src, None, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT).astype(np.float32)
            st = cv2.remap(self.static, src, None, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
            layers.append((img, st))
        (it, st), (ib, sb), (im, sm) = layers
        e = self.eps
        a_top = 1.0 - st[..., 2] * (1.0 - _sigmoid(-st[..., 0] / e))
        a_bot = sb[..., 2] * _sigmoid(sb[..., 1] / e)
        w_bot = np.minimum(a_bot, 1.0 - a_top)
        w_mid = np.clip(1.0 - a_top - w_bot, 0.0, 1.0)
        cav = sm[..., 3:4]
        mid = im
        if np.any(cav):
            mid = im * (1.0 - cav) + self._mouth_inside(box, st[..., 0], -sb[..., 1]) * cav
        out = it * a_top[..., None] + ib * w_bot[..., None] + mid * w_mid[..., None]
        return np.clip(out + 0.5, 0, 255).astype(np.uint8)

    def _mouth_inside(self, box, below_top: np.ndarray, above_bottom: np.ndarray) -> np.ndarray:
        """Paint the opened mouth: dark cavity, the upper incisors under the upper lip (and the
        lower ones and the tongue when it opens wide), darker towards the corners. ``below_top`` and
        ``above_bottom`` are each pixel's distance (IOD) from the moved upper and lower lip edges.
        A mouth already open in the source keeps its own teeth: then only the dark cavity is added."""
        a = self.anatomy
        d_t, d_b = np.maximum(below_top, 0.0), np.maximum(above_bottom, 0.0)
        gap = d_t + d_b
        x = np.abs(self.U[box] - a.mouth_centre[0]) / a.mouth_half_width
        out = np.broadcast_to(CAVITY_RGB, d_t.shape + (3,)).copy()
        if a.mouth_gap < 0.04:
            soft = 0.8 * self.eps
            upper = np.minimum(0.055, 0.45 * gap)
            w_up = _sigmoid((upper - d_t) / soft) * np.clip((0.8 - x) / 0.15, 0, 1)
            lower = np.where(gap > 0.12, np.minimum(0.035, 0.25 * (gap - 0.12) + 0.01), 0.0)
            w_lo = _sigmoid((lower - d_b) / soft) * np.clip((0.65 - x) / 0.15, 0, 1) * (gap > 0.12)
            w_tongue = np.clip((gap - 0.2) / 0.15, 0, 1) * np.clip(1.0 - d_b / np.maximum(0.45 * gap, 1e-3), 0, 1) * (
                1.0 - w_lo)
            out += (TONGUE_RGB - CAVITY_RGB) * w_tongue[..., None]
            shade_t = 1.0 - 0.35 * np.clip(d_t / 0.055, 0, 1)
            out += (TEETH_RGB * shade_t[..., None] - out) * w_up[..., None]
            out += (TEETH_RGB * 0.85 - out) * w_lo[..., None]
        depth = 1.0 - 0.45 * np.clip((x - 0.5) / 0.5, 0, 1)
        return out * depth[..., None]


def _support(fields: list[np.ndarray | None], margin: int = 4) -> tuple[int, int, int, int]:
    """Bounding box (y0, y1, x0, x1) of the pixels any of the fields moves by more than 0.02 px."""
    moving = None
    for f in fields:
        if f is not None:
            mv = (np.abs(f[..., 0]) > 0.02) | (np.abs(f[..., 1]) > 0.02)
            moving = mv if moving is None else moving | mv
    if moving is None or not moving.any():
        return (0, 0, 0, 0)
    ys, xs = np.nonzero(moving.any(axis=1))[0], np.nonzero(moving.any(axis=0))[0]
    h, w = moving.shape
    return (max(0, ys[0] - margin), min(h, ys[-1] + margin + 1), max(0, xs[0] - margin), min(w, xs[-1] + margin + 1))


def _sample(f: np.ndarray, pts: np.ndarray) -> np.ndarray:
    """Bilinear samples of a multi-channel float image at (n, 2) points -> (n, channels)."""
    n = len(pts)
    width = 256
    rows = -(-n // width)
    m = np.zeros((rows * width, 2), np.float32)
    m[:n] = pts
    out = cv2.remap(f, m.reshape(rows, width, 2), None, cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT,
                    borderValue=0)
    return out.reshape(rows * width, -1)[:n]


def with_jacobian(f: np.ndarray) -> np.ndarray:
    """A field (h, w, 2) with its Jacobian appended: channels fx, fy, dfx/dx, dfx/dy, dfy/dx, dfy/dy."""
    gx = np.gradient(f[..., 0])
    gy = np.gradient(f[..., 1])
    return np.dstack([f, gx[1], gx[0], gy[1], gy[0]]).astype(np.float32)


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.clip(x, -30, 30)))
