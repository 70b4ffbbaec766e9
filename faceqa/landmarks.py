"""MediaPipe face-mesh landmark indices that several layers read: the eye corners.

Indices are MediaPipe's 468-point mesh: 33/133 are the outer/inner corners of the subject's right
eye (image left), 263/362 the left eye's. Perception (mesh crop, head pose), the evidence pass
(alignment, face measures) and privacy (face bank, evaluation) take them from here; this module
sits below all of them and imports nothing. The generator in :mod:`faceqa.synth` keeps its own
anatomy on purpose (it is written apart from the detector).
"""

RIGHT_EYE_OUTER, RIGHT_EYE_INNER, LEFT_EYE_INNER, LEFT_EYE_OUTER = 33, 133, 362, 263
RIGHT_EYE = (RIGHT_EYE_OUTER, RIGHT_EYE_INNER)
"""The subject's right eye (image left): outer, inner corner."""
LEFT_EYE = (LEFT_EYE_INNER, LEFT_EYE_OUTER)
"""The subject's left eye (image right): inner, outer corner."""
OUTER_EYE_CORNERS = (RIGHT_EYE_OUTER, LEFT_EYE_OUTER)
"""The eye line, right eye's outer corner to the left eye's."""
