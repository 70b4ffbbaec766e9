"""Rendering: turn AU amounts into a warped face, fast enough for clips (fields cached per face).

:class:`FaceWarper` holds, for one face (one anatomy on one image size), the displacement field
in pixels of every (AU, side) at intensity 1.0, computed on first use on a crop around the face.
A frame's field is the intensity-weighted sum of those unit fields (linear model); the warp is
backward (``cv2.remap``), with the forward field inverted by two fixed-point steps, so a point of
the face lands where the muscle model moves it. Where layers split (lids, lips) the top, bottom
and mid layers are warped separately and composited by coverage; the mouth cavity that opens
between the lips is painted dark.
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
"""Colour painted into a newly opened mouth (deep red-brown, as the inside of a mouth in shade)."""
FACE_BOX = (-1.6, 1.6, -1.5, 1.15)
"""Crop around the face in face coordinates: u range, v from the top, and v below the menton."""
EDGE_PX = 6.0


@dataclass
class UnitField:
    """One (AU, side) at intensity 1.0 in pixels on the warper's crop: (h, w, 2) arrays or None."""

    common: np.ndarray | None
    top: np.ndarray | None = None
    bottom: np.ndarray | None = None
    mid: np.ndarray | None = None
    regions: tuple[str, ...] = ()

    @property
    def split(self) -> bool:
        """Whether the unit moves layers apart."""
        return self.top is not None or self.bottom is not None or self.mid is not None


def _acc(total: np.ndarray | None, part: np.ndarray | None, k: float) -> np.ndarray | None:
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

    def unit(self, au: int, side: str) -> UnitField:
        """The pixel field of ``au`` on ``side`` at intensity 1.0 (computed once, then cached)."""
        key = (int(au), side)
        if key not in self._units:
            check_au(au, side)
            d = action(self.anatomy, au, side, self.U, self.V)
            top = bottom = None
            for t, b in d.splits.values():
                top = _acc(top, self._to_pixels(t), 1.0)
                bottom = _acc(bottom, self._to_pixels(b), 1.0)
            mid = self._mid(au, side, d) if d.splits else None
            self._units[key] = UnitField(self._to_pixels(d.common), top, bottom, mid, tuple(d.splits))
        return self._units[key]

    def fields(self, amounts: Mapping[tuple[int, str], float]):
        """(common, top, bottom, mid, split regions) of a frame: pixel fields (h, w, 2) or None."""
        c = t = b = m = None
        regions: set[str] = set()
        for (au, side), k in amounts.items():
            if not k:
                continue
            u = self.unit(au, side)
            c = _acc(c, u.common, k)
            t, b, m = _acc(t, u.top, k), _acc(b, u.bottom, k), _acc(m, u.mid, k)
            regions.update(u.regions)
        return c, t, b, m, regions

    def _invert(self, f: np.ndarray, box: tuple[slice, slice] | None = None) -> np.ndarray:
        """Backward map for a forward displacement field: src with src + f(src) = pixel (for the
        pixels of ``box`` only, when given)."""
        grid = self.grid if box is None else self.grid[box]
        src = grid - (f if box is None else f[box])
        for _ in range(2):
            src = grid - cv2.remap(f, src, None, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
        return src

    def _pixel_box(self, name: str) -> tuple[slice, slice]:
        """The crop pixels covering a region's box."""
        u0, u1, v0, v1 = self.regions[name].box
        pts = self.anatomy.to_image(np.array([[u0, v0], [u1, v0], [u0, v1], [u1, v1]])) - (self.x0, self.y0)
        x0, y0 = np.maximum(np.floor(pts.min(0)).astype(int) - 2, 0)
        x1, y1 = np.ceil(pts.max(0)).astype(int) + 3
        return slice(y0, min(y1, self.grid.shape[0])), slice(x0, min(x1, self.grid.shape[1]))

    def warp(self, image: np.ndarray, amounts: Mapping[tuple[int, str], float]) -> np.ndarray:
        """``image`` with the face deformed by ``{(au, side): intensity}`` (a new array)."""
        c, t, b, m, regions = self.fields(amounts)
        if c is None and not regions:
            return image
        crop = image[self.y0:self.y1, self.x0:self.x1]
        base = c if c is not None else np.zeros_like(self.grid)
        warped = cv2.remap(crop, self._invert(base), None, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)
        if regions:
            layer_fields = [base if x is None else base + x for x in (t, b, m)]
            for name in regions:
                box = self._pixel_box(name)
                warped[box] = self._layered(crop, box, layer_fields)
        out = image.copy()
        out[self.y0:self.y1, self.x0:self.x1] = warped
        return out

    def _layered(self, crop, box, layer_fields) -> np.ndarray:
        """Top, bottom and mid layers warped on ``box`` and composited by coverage."""
        layers = []
        for f in layer_fields:
            src = self._invert(f, box)
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
        mid = im * (1.0 - cav) + CAVITY_RGB * cav
        out = it * a_top[..., None] + ib * w_bot[..., None] + mid * w_mid[..., None]
        return np.clip(out + 0.5, 0, 255).astype(np.uint8)


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.clip(x, -30, 30)))
