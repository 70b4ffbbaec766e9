"""FACS regions and stable points, defined on MediaPipe face-mesh landmark indices.

Sides are the subject's: ``R`` is the subject's right, which appears on the image's left. Each
region is a small disc around the mean of its landmarks (radius a fraction of the inter-ocular
distance) in the aligned face; its mean optical flow says how that patch of skin moved.
"""

from __future__ import annotations

from dataclasses import dataclass

SIDES = ("L", "R")


@dataclass(frozen=True)
class Region:
    """A FACS region: its landmarks on each side (or one set, ``central``) and its disc radius."""

    name: str
    right: tuple[int, ...]
    left: tuple[int, ...] = ()
    radius: float = 0.12  # fraction of the inter-ocular distance

    @property
    def central(self) -> bool:
        """True for midline regions (one disc, the same value on both sides)."""
        return not self.left

    def landmarks(self, side: str) -> tuple[int, ...]:
        """Landmark indices of this region on ``side`` ("L" or "R")."""
        return self.right if self.central or side == "R" else self.left


REGIONS: tuple[Region, ...] = (
    Region("inner_brow", (107, 66, 55, 65), (336, 296, 285, 295)),
    Region("outer_brow", (70, 63, 46, 53), (300, 293, 276, 283)),
    Region("upper_lid", (159, 158, 160), (386, 385, 387), 0.08),
    Region("lower_lid", (145, 144, 153), (374, 373, 380), 0.08),
    Region("cheek", (117, 118, 101), (346, 347, 330), 0.14),
    Region("nose_side", (198, 49), (420, 279), 0.09),
    Region("upper_lip", (37, 40, 39), (267, 270, 269), 0.09),
    Region("lip_corner", (61, 57), (291, 287), 0.09),
    Region("lower_lip", (84, 181), (314, 405), 0.09),
    Region("glabella", (9, 8), radius=0.10),
    Region("upper_lip_centre", (0, 13), radius=0.08),
    Region("lower_lip_centre", (14, 17), radius=0.08),
    Region("chin", (199, 175, 152), radius=0.14),
)
"""Every region whose motion the evidence stage measures."""

REGION_BY_NAME = {r.name: r for r in REGIONS}

STABLE_POINTS = (1, 4, 5, 195, 197, 6, 133, 362, 33, 263, 234, 454, 127, 356, 10, 151)
"""Landmarks that facial action barely moves (nose bridge and tip, eye corners, temples,
forehead): the similarity alignment is fitted on them, so head motion is taken out."""

REFERENCE_REGION = (6, 197, 195, 5, 151)
"""Rigid skin (nose bridge, forehead): its residual flow is subtracted from every region."""


def region_keys() -> list[tuple[str, str]]:
    """(region, side) pairs in table order; central regions appear once with side "C"."""
    keys = []
    for r in REGIONS:
        keys.extend([(r.name, "C")] if r.central else [(r.name, s) for s in SIDES])
    return keys
