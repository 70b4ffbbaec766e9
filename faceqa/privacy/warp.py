"""Piecewise-affine warping between two sets of face-mesh landmarks.

The destination points are triangulated (Delaunay); every destination pixel inside a triangle
takes the source pixel at the same barycentric position in the matching source triangle. The
triangles are rasterised into a label image and each one's destination-to-source affine map is
solved in closed form, so no per-triangle linear-algebra call is made (scipy's ``find_simplex``
does one per triangle through LAPACK, which took seconds here when OpenBLAS threads competed with
the models' threads). The map is then applied with ``cv2.remap``.
"""

from __future__ import annotations

import math

import cv2
import numpy as np

_SHIFT = 4
"""Fractional bits of the vertex coordinates when rasterising triangles."""


def triangle_maps(src_pts: np.ndarray, dst_pts: np.ndarray, triangles: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-triangle affine maps ``src = lin @ dst + off``: (T, 2, 2) and (T, 2); degenerate triangles get NaN."""
    d = dst_pts[triangles]  # (T, 3, 2)
    s = src_pts[triangles]
    m = np.stack([d[:, 1] - d[:, 0], d[:, 2] - d[:, 0]], axis=2)  # columns: the two edges
    det = m[:, 0, 0] * m[:, 1, 1] - m[:, 0, 1] * m[:, 1, 0]
    with np.errstate(divide="ignore", invalid="ignore"):
        inv = np.stack([np.stack([m[:, 1, 1], -m[:, 0, 1]], 1), np.stack([-m[:, 1, 0], m[:, 0, 0]], 1)], 1)
        inv = inv / det[:, None, None]
    inv[np.abs(det) < 1e-9] = np.nan
    e = np.stack([s[:, 1] - s[:, 0], s[:, 2] - s[:, 0]], axis=2)
    lin = e @ inv
    off = s[:, 0] - np.einsum("tij,tj->ti", lin, d[:, 0])
    return lin, off


def piecewise_warp(src: np.ndarray, src_pts: np.ndarray, dst_pts: np.ndarray, dst_shape: tuple[int, int]
                   ) -> tuple[np.ndarray, np.ndarray, tuple[int, int]] | None:
    """Warp ``src`` so that its ``src_pts`` (N, 2) land on ``dst_pts`` (N, 2) of an image of ``dst_shape`` (h, w).

    Returns ``(patch, mask, (x0, y0))``: the warped pixels of the destination box around
    ``dst_pts`` (clipped to the image), a float32 mask, 1 where the triangulation covers them, and
    the box's top-left corner; None when the points fall outside the image.
    """
    from scipy.spatial import Delaunay  # imported here: scipy.spatial is slow to import, and only this needs it

    dst = np.asarray(dst_pts, np.float64)[:, :2]
    srcp = np.asarray(src_pts, np.float64)[:, :2]
    h, w = dst_shape
    x0, y0 = max(0, math.floor(dst[:, 0].min())), max(0, math.floor(dst[:, 1].min()))
    x1, y1 = min(w, math.ceil(dst[:, 0].max()) + 1), min(h, math.ceil(dst[:, 1].max()) + 1)
    if x1 - x0 < 2 or y1 - y0 < 2:
        return None
    triangles = Delaunay(dst).simplices
    lin, off = triangle_maps(srcp, dst, triangles)
    label = np.full((y1 - y0, x1 - x0), -1, np.int32)
    corners = np.round((dst[triangles] - (x0, y0)) * (1 << _SHIFT)).astype(np.int32)
    for i, tri in enumerate(corners):
        if np.isfinite(lin[i]).all():
            cv2.fillConvexPoly(label, tri, i, lineType=cv2.LINE_8, shift=_SHIFT)
    ys, xs = np.nonzero(label >= 0)
    t = label[ys, xs]
    p = np.stack([xs + x0, ys + y0], axis=1).astype(np.float64)
    mapped = np.einsum("nij,nj->ni", lin[t], p) + off[t]
    map_x = np.full(label.shape, -1.0, np.float32)
    map_y = np.full(label.shape, -1.0, np.float32)
    map_x[ys, xs], map_y[ys, xs] = mapped[:, 0], mapped[:, 1]
    patch = cv2.remap(src, map_x, map_y, interpolation=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    return patch, (label >= 0).astype(np.float32), (x0, y0)
