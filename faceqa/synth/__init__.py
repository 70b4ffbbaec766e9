"""Synthetic expressions on real faces, from a muscle model of the face, with exact ground truth.

An independent generator: FACS action units are made by muscles placed on the face's anatomy
(Waters linear and sphincter muscles, an eyelid model, the jaw rotating about the TMJ), with
intensities where 1.0 = FACS E; clips add head motion, blinks, speech and posed expressions that
may overlap the events; ``inject_into_video`` puts events into real video. See
``faceqa/synth/actions.py`` for the muscles and their calibration.
"""

from faceqa.synth.actions import AU_NAMES, FACS_LEVELS
from faceqa.synth.anatomy import Anatomy, anatomy_from_mesh
from faceqa.synth.clips import make_clip, random_clip_spec, render_frames
from faceqa.synth.faces import astronaut_face, face_crop, shared_face_photos
from faceqa.synth.inject import inject_into_video
from faceqa.synth.spec import ClipSpec, Distractors, InjectedAU, InjectedEvent, ground_truth, spec_from_truth
from faceqa.synth.warp import FaceWarper

__all__ = ["AU_NAMES", "FACS_LEVELS", "Anatomy", "ClipSpec", "Distractors", "FaceWarper", "InjectedAU",
           "InjectedEvent", "anatomy_from_mesh", "astronaut_face", "face_crop", "ground_truth",
           "inject_into_video", "make_clip", "random_clip_spec", "render_frames", "shared_face_photos",
           "spec_from_truth"]
