"""The evidence pass: per-frame AU activity and spotted expression events, measured from media.

- :mod:`~faceqa.evidence.extract`: one streaming pass per face (:func:`~faceqa.evidence.extract.extract_evidence`);
- :mod:`~faceqa.evidence.align`, :mod:`~faceqa.evidence.face_geometry`, :mod:`~faceqa.evidence.mesh_features`,
  :mod:`~faceqa.evidence.motion`, :mod:`~faceqa.evidence.regions`: the face measures it reads;
- :mod:`~faceqa.evidence.neutral`, :mod:`~faceqa.evidence.au_intensity`, :mod:`~faceqa.evidence.au_activity`:
  AU intensity against a neutral reference;
- :mod:`~faceqa.evidence.spotting`, :mod:`~faceqa.evidence.talking`: expression events, talking spans;
- :mod:`~faceqa.evidence.labelled_events`: hand-labelled events of real videos and how spotted ones score;
- :mod:`~faceqa.evidence.plot`: AU timelines.

FACS knowledge (AU table, codes, emotion classes, deduction) is in :mod:`faceqa.facs`; MEGC files
and metrics in :mod:`faceqa.megc`.
"""
