"""De-identification: blur, pixelate, mask, eye bar and k-Same on images and videos, with evaluation.

>>> from faceqa.privacy import deidentify
>>> deidentify("clip.mp4", "blur", out="clip.blur.mp4", evaluate=True, strength=0.2)   # doctest: +SKIP
"""

from faceqa.privacy.api import build_method, default_output, deidentify
from faceqa.privacy.evaluate import evaluate_deid
from faceqa.privacy.facebank import FaceBank
from faceqa.privacy.methods import METHODS, Blur, EyeBar, KSame, Mask, Method, Pixelate, Target, make_method
from faceqa.privacy.video import DeidStats, protect_media

__all__ = ["METHODS", "Blur", "DeidStats", "EyeBar", "FaceBank", "KSame", "Mask", "Method", "Pixelate", "Target",
           "build_method", "default_output", "deidentify", "evaluate_deid", "make_method", "protect_media"]
