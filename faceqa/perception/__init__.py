"""Perception: face boxes, 468/478-point mesh, head pose, identity, expression, quality.

One streaming pass over a media source (:class:`FacePipeline`), with typed per-face records
(:class:`FaceRecord`) and a documented pandas table (:func:`to_dataframe`).
"""

from faceqa.perception.detection import Detection, FaceDetector, largest_face
from faceqa.perception.mesh import FaceMesh, MeshResult
from faceqa.perception.pipeline import Analysis, FacePipeline
from faceqa.perception.pose import head_pose
from faceqa.perception.records import EMOTIONS, FaceRecord, to_dataframe

__all__ = ["EMOTIONS", "Analysis", "Detection", "FaceDetector", "FaceMesh", "FacePipeline", "FaceRecord",
           "MeshResult", "head_pose", "largest_face", "to_dataframe"]
