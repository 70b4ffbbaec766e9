"""Acceptance figures of issue 13 on the deepface identities (shared data; nothing of it is committed).

Protection: one source photo per identity (cropped to 360x360 around the face), the target the
first photo of another identity; MAP-style protection against SFace-torch, then
:func:`faceqa.privacy.protect.evaluate_protection` (SFace re-detected = white box, dlib = black box),
and the project's blur / pixelate tuned to the same face-box SSIM, side by side.

Audit: :func:`faceqa.privacy.audit.audit` on its default data (all usable deepface photos with an
identity and the main person's faces in ``--per-clip`` frames of each shared video clip; no mirror
images: CPU time), ``--held-out`` whole identities held out, at most ``--attack-per-identity`` faces
of each reconstructed; ``--cache FILE`` keeps the video crops between runs.

    .venv/bin/python scripts/privacy_figures.py [--sources 8] [--steps 80] [--part protect|audit|both]
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np

from faceqa.errors import NoFaceError
from faceqa.perception.identity import THRESHOLDS, distance
from faceqa.privacy.audit import VIDEO_FRAMES, audit, default_crops, faceset_from_crops, identity_photos
from faceqa.privacy.evaluate import region_quality
from faceqa.privacy.methods import Blur, Pixelate, Target
from faceqa.privacy.protect import _embed_both, _face_and_mesh, evaluate_protection, protect
from faceqa.synth.faces import face_crop


def _hides(original: np.ndarray, changed: np.ndarray) -> dict[str, bool]:
    """Per recognizer: the changed face no longer matches the original (no face found counts as hidden)."""
    src = _embed_both(original, "image")
    try:
        new = _embed_both(changed, "changed")
    except NoFaceError:
        return {m: True for m in src}
    return {m: distance(src[m], new[m]) > THRESHOLDS[m] for m in src}


def _equal_ssim(image: np.ndarray, box: list[int], goal: float, kind: str) -> tuple[np.ndarray, float, float]:
    """(image, setting, SSIM) of blur / pixelate whose face-box SSIM is the closest at or above ``goal``."""
    _, mesh = _face_and_mesh(image, "image")
    target = Target(0, mesh)

    def run(setting: float) -> tuple[np.ndarray, float]:
        method = Blur(strength=setting) if kind == "blur" else Pixelate(blocks=int(setting))
        out = method.protect(image, [target])
        return out, region_quality(image, out, tuple(box))[1]

    if kind == "blur":
        lo, hi = 0.005, 0.5
        for _ in range(12):
            mid = (lo + hi) / 2
            lo, hi = (mid, hi) if run(mid)[1] >= goal else (lo, mid)
        best = lo
    else:
        lo, hi = 2, 256
        while hi - lo > 1:
            mid = (lo + hi) // 2
            lo, hi = (lo, mid) if run(mid)[1] >= goal else (mid, hi)
        best = hi
    out, ssim = run(best)
    return out, best, ssim


def protection_figures(sources: int, steps: int) -> dict:
    """Protection success, quality and expression change over ``sources`` identities, and blur / pixelate."""
    paths, labels = identity_photos()
    first: dict[str, int] = {}
    for i, lb in enumerate(labels):
        first.setdefault(lb, i)
    ids = sorted(first)[:sources]
    rows = []
    for k, ident in enumerate(ids):
        other = sorted(first)[(k + 1) % len(first)]
        src, tgt = face_crop(paths[first[ident]]), face_crop(paths[first[other]])
        start = time.perf_counter()
        res = protect(src, tgt, steps=steps)
        e = evaluate_protection(src, res.image, tgt)
        row = {"source": paths[first[ident]].name, "target": paths[first[other]].name, "steps": res.steps,
               "seconds": round(time.perf_counter() - start, 1), **{k2: e[k2] for k2 in ("psnr", "ssim")},
               "expression_changed": e["expression_changed"],
               "sface": e["sface"], "dlib": e["dlib"], "protect_hides": {m: not e[m]["matches_source"]
                                                                        for m in ("sface", "dlib")}}
        for kind in ("blur", "pixelate"):
            out, setting, ssim = _equal_ssim(src, e["face_box"], e["ssim"], kind)
            row[kind] = {"setting": round(setting, 4), "ssim": round(ssim, 4), "hides": _hides(src, out)}
        rows.append(row)
        print(json.dumps(row), flush=True)
    n = len(rows)

    def rate(f) -> float:
        return round(sum(bool(f(r)) for r in rows) / n, 3)

    return {"sources": n, "steps_max": steps,
            "success_sface_white_box": rate(lambda r: r["sface"]["success"]),
            "matches_target_sface": rate(lambda r: r["sface"]["matches_target"]),
            "success_dlib_black_box": rate(lambda r: r["dlib"]["success"]),
            "matches_target_dlib": rate(lambda r: r["dlib"]["matches_target"]),
            "mean_ssim": round(float(np.mean([r["ssim"] for r in rows])), 4),
            "mean_psnr": round(float(np.mean([r["psnr"] for r in rows])), 2),
            "expression_changed_fraction": rate(lambda r: r["expression_changed"]),
            "mean_seconds": round(float(np.mean([r["seconds"] for r in rows])), 1),
            "hides_source_at_equal_ssim": {
                name: {m: rate(lambda r, name=name, m=m: (r["protect_hides"] if name == "protect"
                                                          else r[name]["hides"])[m]) for m in ("sface", "dlib")}
                for name in ("protect", "blur", "pixelate")},
            "blur_mean_ssim": round(float(np.mean([r["blur"]["ssim"] for r in rows])), 4),
            "pixelate_mean_ssim": round(float(np.mean([r["pixelate"]["ssim"] for r in rows])), 4)}


def audit_figures(held_out: int, steps: int, epochs: int, per_clip: int, per_identity: int | None,
                  seed: int, cache: str | None) -> dict:
    """The leakage audit on the default data: deepface photos and shared video clips."""
    crops, labels, skipped = default_crops(per_clip=per_clip, cache=cache)
    faces = faceset_from_crops(crops, labels, flips=False)
    return {**audit(faces, held_out=held_out, steps=steps, epochs=epochs, seed=seed,
                    attack_per_identity=per_identity), "photos_without_face": skipped}


def main() -> None:
    """Print the figures as JSON."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--part", choices=("protect", "audit", "both"), default="both")
    ap.add_argument("--sources", type=int, default=13, help="identities used as protection sources")
    ap.add_argument("--steps", type=int, default=80, help="most protection steps per photo")
    ap.add_argument("--held-out", type=int, default=3, help="audit: identities held out")
    ap.add_argument("--audit-steps", type=int, default=30, help="audit: reconstruction steps")
    ap.add_argument("--epochs", type=int, default=300, help="audit: mapping training epochs")
    ap.add_argument("--per-clip", type=int, default=VIDEO_FRAMES, help="audit: frames sampled per shared video clip")
    ap.add_argument("--attack-per-identity", type=int, default=3,
                    help="audit: faces reconstructed per held-out identity")
    ap.add_argument("--seed", type=int, default=0, help="audit: which identities are held out")
    ap.add_argument("--cache", default=None, help="audit: .npz file caching the video crops")
    args = ap.parse_args()
    out = {}
    if args.part in ("protect", "both"):
        out["protection"] = protection_figures(args.sources, args.steps)
        print(json.dumps({"protection": out["protection"]}, indent=1), flush=True)
    if args.part in ("audit", "both"):
        out["audit"] = audit_figures(args.held_out, args.audit_steps, args.epochs, args.per_clip,
                                     args.attack_per_identity, args.seed, args.cache)
        print(json.dumps({"audit": out["audit"]}, indent=1), flush=True)


if __name__ == "__main__":
    main()
