"""The face's anatomy in a face-centred frame, located once from the 468-point mesh.

The generator places its muscles, eyelids and jaw in a **face frame**: origin midway between the
two eye centres, ``u`` along the eye line towards the subject's LEFT eye (the image's right on a
frontal face), ``v`` perpendicular to it, pointing down (chin-wards); unit = the inter-ocular
distance (IOD, between eye centres; ~63 mm on an adult). ``u > 0`` is the subject's left side,
``u < 0`` the right. The frame is a similarity of the image, so in-plane rotation and scale of the
face are taken out and every size below is in IOD.

The mesh gives only the *landmarks of the anatomy* (where the eyes, brows, lids, nose, lips, chin
and jaw outline are); muscle attachments are placed from them by anatomical offsets in
``faceqa/synth/actions.py``. Mesh indices used (MediaPipe numbering; "R" = subject's right):

=====================  =====================================================================
eye contour (centre)   R: 33 246 161 160 159 158 157 173 133 155 154 153 145 144 163 7;
                       L: the mirror set 263 466 388 387 386 385 384 398 362 382 381 380 374 373 390 249
upper / lower lid      the upper (33..133 via 159) and lower (33..133 via 145) halves of that contour
brow                   mean of the upper row (R 70 63 105 66 107, L 300 293 334 296 336) and the
                       lower row (R 46 53 52 65 55, L 276 283 282 295 285), lateral -> medial
nose                   nasion 168, tip 1, alae: mean of (98, 129) R and (327, 358) L
lips                   outer corners 61 R / 291 L; upper-lip top 61 185 40 39 37 0 267 269 270 409 291;
                       lower-lip bottom 61 146 91 181 84 17 314 405 321 375 291; the split line
                       between the lips = midpoints of the inner contours 78 191 80 81 82 13 312 311
                       310 415 308 and 78 95 88 178 87 14 317 402 318 324 308
chin                   pogonion (chin boss) 199, menton (lowest point) 152
face outline           the 36-point oval 10 338 297 ... 109 (half-widths at the cheekbone and
                       the jaw angle are read from it)
=====================  =====================================================================
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

_EYE = {
    "R": [33, 246, 161, 160, 159, 158, 157, 173, 133, 155, 154, 153, 145, 144, 163, 7],
    "L": [263, 466, 388, 387, 386, 385, 384, 398, 362, 382, 381, 380, 374, 373, 390, 249],
}
_UPPER_LID = {"R": [33, 246, 161, 160, 159, 158, 157, 173, 133], "L": [263, 466, 388, 387, 386, 385, 384, 398, 362]}
_LOWER_LID = {"R": [33, 7, 163, 144, 145, 153, 154, 155, 133], "L": [263, 249, 390, 373, 374, 380, 381, 382, 362]}
_BROW_UPPER = {"R": [70, 63, 105, 66, 107], "L": [300, 293, 334, 296, 336]}
_BROW_LOWER = {"R": [46, 53, 52, 65, 55], "L": [276, 283, 282, 295, 285]}
_ALA = {"R": [98, 129], "L": [327, 358]}
_CORNER = {"R": 61, "L": 291}
_UPPER_LIP = [61, 185, 40, 39, 37, 0, 267, 269, 270, 409, 291]
_LOWER_LIP = [61, 146, 91, 181, 84, 17, 314, 405, 321, 375, 291]
_INNER_UPPER = [78, 191, 80, 81, 82, 13, 312, 311, 310, 415, 308]
_INNER_LOWER = [78, 95, 88, 178, 87, 14, 317, 402, 318, 324, 308]
_OVAL = [10, 338, 297, 332, 284, 251, 389, 356, 454, 323, 361, 288, 397, 365, 379, 378, 400, 377, 152, 148,
         176, 149, 150, 136, 172, 58, 132, 93, 234, 127, 162, 21, 54, 103, 67, 109]
NASION, NOSE_TIP, POGONION, MENTON = 168, 1, 199, 152

SIDES = ("R", "L")
SIGN = {"R": -1.0, "L": 1.0}
"""The sign of ``u`` on each side of the face (subject's left = +u)."""


@dataclass
class Anatomy:
    """A face's anatomy: the face frame (image <-> face coordinates) and named parts in face coords.

    Points are (u, v) arrays in IOD; polylines are (k, 2) arrays sorted by ``u``. Per-side parts
    are dicts keyed "R" / "L" (the subject's sides).
    """

    origin: np.ndarray
    ex: np.ndarray
    ey: np.ndarray
    iod: float
    eye_centre: dict[str, np.ndarray] = field(default_factory=dict)
    upper_lid: dict[str, np.ndarray] = field(default_factory=dict)
    lower_lid: dict[str, np.ndarray] = field(default_factory=dict)
    brow: dict[str, np.ndarray] = field(default_factory=dict)
    ala: dict[str, np.ndarray] = field(default_factory=dict)
    corner: dict[str, np.ndarray] = field(default_factory=dict)
    nasion: np.ndarray | None = None
    nose_tip: np.ndarray | None = None
    upper_lip: np.ndarray | None = None
    lower_lip: np.ndarray | None = None
    lip_line: np.ndarray | None = None
    mouth_gap: float = 0.0
    pogonion: np.ndarray | None = None
    menton: np.ndarray | None = None
    oval: np.ndarray | None = None

    # --- frame ---------------------------------------------------------------------------------
    def to_face(self, xy: np.ndarray) -> np.ndarray:
        """Image pixels (..., 2) -> face coordinates (..., 2) in IOD."""
        d = np.asarray(xy, np.float64) - self.origin
        return np.stack([d @ self.ex, d @ self.ey], axis=-1) / self.iod

    def to_image(self, uv: np.ndarray) -> np.ndarray:
        """Face coordinates (..., 2) in IOD -> image pixels (..., 2)."""
        uv = np.asarray(uv, np.float64)
        return self.origin + self.iod * (uv[..., :1] * self.ex + uv[..., 1:2] * self.ey)

    def vector_to_image(self, du: np.ndarray, dv: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """A displacement in IOD (face axes) -> (dx, dy) in image pixels."""
        s = self.iod
        return (s * (du * self.ex[0] + dv * self.ey[0]), s * (du * self.ex[1] + dv * self.ey[1]))

    # --- derived parts -------------------------------------------------------------------------
    def inner_brow(self, side: str) -> np.ndarray:
        """Head of the brow (its medial end)."""
        return self.brow[side][np.argmin(np.abs(self.brow[side][:, 0]))]

    def outer_brow(self, side: str) -> np.ndarray:
        """Tail of the brow (its lateral end)."""
        return self.brow[side][np.argmax(np.abs(self.brow[side][:, 0]))]

    def brow_point(self, side: str, t: float) -> np.ndarray:
        """A point along the brow: t = 0 at its head (medial), 1 at its tail (lateral)."""
        b = self.brow[side]
        b = b[np.argsort(np.abs(b[:, 0]))]
        s = np.concatenate([[0.0], np.cumsum(np.linalg.norm(np.diff(b, axis=0), axis=1))])
        return np.array([np.interp(t * s[-1], s, b[:, k]) for k in range(2)])

    def lid_gap(self, side: str, u: np.ndarray) -> np.ndarray:
        """Eye aperture (lower lid minus upper lid, IOD) at columns ``u``; 0 outside the eye."""
        up, lo = self.upper_lid[side], self.lower_lid[side]
        inside = (u >= up[0, 0]) & (u <= up[-1, 0])
        h = np.interp(u, lo[:, 0], lo[:, 1]) - np.interp(u, up[:, 0], up[:, 1])
        return np.where(inside, np.maximum(h, 0.0), 0.0)

    def half_width(self, v: float) -> float:
        """Half the face's width (IOD) at height ``v``, read from the face outline."""
        widths = []
        oval = self.oval
        for sgn in (-1.0, 1.0):
            pts = oval[np.sign(oval[:, 0]) == sgn]
            pts = pts[np.argsort(pts[:, 1])]
            widths.append(abs(float(np.interp(v, pts[:, 1], pts[:, 0]))))
        return float(np.mean(widths))

    @property
    def mouth_centre(self) -> np.ndarray:
        """Midpoint of the two lip corners."""
        return (self.corner["R"] + self.corner["L"]) / 2

    @property
    def mouth_half_width(self) -> float:
        """Half the corner-to-corner distance (IOD)."""
        return float(np.linalg.norm(self.corner["L"] - self.corner["R"]) / 2)


def _sorted_u(a: np.ndarray) -> np.ndarray:
    return a[np.argsort(a[:, 0], kind="stable")]


def anatomy_from_mesh(landmarks: np.ndarray) -> Anatomy:
    """Locate the anatomy of one face from its (468+, 2|3) mesh landmarks in image pixels."""
    p = np.asarray(landmarks, np.float64)[:, :2]
    eye = {s: p[_EYE[s]].mean(0) for s in SIDES}
    origin = (eye["R"] + eye["L"]) / 2
    axis = eye["L"] - eye["R"]
    iod = float(np.linalg.norm(axis))
    if iod < 1.0:
        raise ValueError("degenerate face: the eye centres coincide")
    ex = axis / iod
    ey = np.array([-ex[1], ex[0]])
    a = Anatomy(origin, ex, ey, iod)
    f = a.to_face
    for s in SIDES:
        a.eye_centre[s] = f(eye[s])
        a.upper_lid[s] = _sorted_u(f(p[_UPPER_LID[s]]))
        a.lower_lid[s] = _sorted_u(f(p[_LOWER_LID[s]]))
        a.brow[s] = _sorted_u(f((p[_BROW_UPPER[s]] + p[_BROW_LOWER[s]]) / 2))
        a.ala[s] = f(p[_ALA[s]].mean(0))
        a.corner[s] = f(p[_CORNER[s]])
    a.nasion, a.nose_tip = f(p[NASION]), f(p[NOSE_TIP])
    a.upper_lip = _sorted_u(f(p[_UPPER_LIP]))
    a.lower_lip = _sorted_u(f(p[_LOWER_LIP]))
    inner_up, inner_lo = f(p[_INNER_UPPER]), f(p[_INNER_LOWER])
    mid = (inner_up + inner_lo) / 2
    a.lip_line = _sorted_u(np.concatenate([a.corner["R"][None], mid, a.corner["L"][None]]))
    a.mouth_gap = float(np.max(inner_lo[:, 1] - inner_up[:, 1]))
    a.pogonion, a.menton = f(p[POGONION]), f(p[MENTON])
    a.oval = f(p[_OVAL])
    return a
