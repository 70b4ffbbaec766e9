"""Synthetic micro-expressions: real faces with mesh-guided AU warps and known ground truth."""

from faceqa.synth.au_warps import AU_WARPS, displacement_field
from faceqa.synth.clips import ClipSpec, Distractors, InjectedAU, InjectedEvent, make_clip, random_clip_spec

__all__ = ["AU_WARPS", "ClipSpec", "Distractors", "InjectedAU", "InjectedEvent", "displacement_field",
           "make_clip", "random_clip_spec"]
