"""Frame and clip quality in [0, 1]: sharpness, noise, exposure, motion blur, face size and pose.

>>> from faceqa.quality import assess_quality
>>> assess_quality("clip.mp4")["score"]          # doctest: +SKIP
"""

from faceqa.quality.assess import assess_frame, assess_quality, face_scores, frames_table, image_scores
from faceqa.quality.scores import FACE_WEIGHTS, IMAGE_WEIGHTS, combine

__all__ = ["FACE_WEIGHTS", "IMAGE_WEIGHTS", "assess_frame", "assess_quality", "combine", "face_scores",
           "frames_table", "image_scores"]
