"""``deidentify``: protect the faces of an image or a clip in one call, optionally measuring the result."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

from faceqa.errors import InvalidInputError
from faceqa.media import open_media
from faceqa.privacy.facebank import FaceBank
from faceqa.privacy.methods import Method, check_options, make_method
from faceqa.privacy.video import HOLD_S, protect_media


def default_output(source: str | os.PathLike[str], method: str) -> Path:
    """Where :func:`deidentify` writes when no ``out`` is given: beside the source, named
    ``<stem>.<method>.<ext>`` (``.mp4`` for videos, a folder for frame folders)."""
    p = Path(source)
    kind = open_media(p).info.kind
    if kind == "frames":
        return p.with_name(f"{p.name}.{method}")
    return p.with_name(f"{p.stem}.{method}{p.suffix.lower() if kind == 'image' else '.mp4'}")


def build_method(method: str | Method, progress: bool = False, **options: Any) -> Method:
    """A :class:`Method` from its name and options; ``bank`` may be a path (a saved bank or a folder of
    photos, built with a progress bar when ``progress``)."""
    if isinstance(method, Method):
        if options:
            raise InvalidInputError(f"options {sorted(options)} given with a ready-made {method.name} method")
        return method
    check_options(method, options)
    if isinstance(options.get("bank"), str | os.PathLike):
        options["bank"] = FaceBank.open(options["bank"], progress=progress)
    return make_method(method, **options)


def deidentify(path: str | os.PathLike[str], method: str | Method = "blur", out: str | os.PathLike[str] | None = None,
               evaluate: bool = False, gallery=None, hold_s: float = HOLD_S, eval_frames: int = 60,
               progress: bool = False, overwrite: bool = False, **options: Any) -> dict:
    """Protect every face of an image, a video or a frame folder; write it to ``out``.

    Args:
        path: the media to protect.
        method: ``"blur"``, ``"pixelate"``, ``"mask"``, ``"eyebar"``, ``"ksame"``, or a :class:`Method`.
        out: output path (default :func:`default_output`).
        evaluate: also measure privacy, utility and quality (:func:`~faceqa.privacy.evaluate.evaluate_deid`).
        gallery: a :class:`~faceqa.gallery.Gallery` or gallery URI for the re-identification rate.
        hold_s: carry-forward / back-fill window for missed detections in videos.
        eval_frames: most video frames sampled for the per-face measures of ``evaluate``.
        progress: tqdm bars.
        overwrite: replace an existing ``out`` (otherwise refused).
        options: the method's settings (e.g. ``strength=0.2``, ``blocks=6``, ``k=5, bank="faces/"``).
    Returns a JSON-ready dict: ``media``, ``out``, ``method`` (name and settings), ``frames``,
    ``frames_with_faces``, ``faces_protected``, ``carried``, ``backfilled``, ``tracks``, ``seconds``
    and, with ``evaluate``, ``evaluation``.
    """
    chosen = build_method(method, progress=progress, **options)
    target = Path(out) if out is not None else default_output(path, chosen.name)
    start = time.perf_counter()
    stats = protect_media(path, target, chosen, hold_s=hold_s, progress=progress, overwrite=overwrite)
    result = {"media": str(path), "out": str(target), "method": chosen.config(), **stats.to_dict(),
              "seconds": round(time.perf_counter() - start, 3)}
    if evaluate:
        from faceqa.gallery import Gallery
        from faceqa.privacy.evaluate import evaluate_deid

        own = gallery is not None and not isinstance(gallery, Gallery)
        g = Gallery.open(gallery) if own else gallery
        try:
            result["evaluation"] = evaluate_deid(path, target, gallery=g, max_frames=eval_frames, progress=progress)
        finally:
            if own:
                g.close()
    return result
