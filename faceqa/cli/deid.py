"""``faceqa deid MEDIA --method M --out FILE``: de-identify every face, optionally measuring the result."""

from __future__ import annotations

import argparse

from faceqa.cli.output import print_json


def _color(text: str) -> tuple[int, int, int]:
    try:
        rgb = tuple(int(v) for v in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r}: expected R,G,B (e.g. 0,0,0)") from None
    if len(rgb) != 3:
        raise argparse.ArgumentTypeError(f"{text!r}: expected three values R,G,B")
    return rgb  # type: ignore[return-value]


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``deid`` subcommand."""
    from faceqa.privacy.methods import METHODS

    p = sub.add_parser("deid", help="de-identify faces in an image or a video (blur, pixelate, mask, eye bar, "
                                    "k-Same)",
                       description="Protect every face of an image, video or frame folder, tracking faces so no "
                                   "frame leaks one. --evaluate prints privacy (verification / re-identification), "
                                   "utility (emotion, landmarks, AU activity) and quality (PSNR, SSIM).")
    p.add_argument("media", metavar="MEDIA", help="image, video file or folder of frames")
    p.add_argument("--method", required=True, choices=sorted(METHODS), help="de-identification method")
    p.add_argument("--out", required=True, metavar="FILE",
                   help="output: an image file for an image; .mp4, .avi (lossless) or a new folder for a video")
    p.add_argument("--overwrite", action="store_true", help="replace --out if it exists (otherwise refused)")
    p.add_argument("--evaluate", action="store_true", help="measure privacy, utility and quality")
    p.add_argument("--eval-frames", type=int, default=60, metavar="N",
                   help="video: most frames sampled for the per-face measures (default 60)")
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    p.add_argument("--strength", type=float, help="blur: sigma as a fraction of the face size (default 0.1)")
    p.add_argument("--blocks", type=int, help="pixelate: blocks across the face (default 8)")
    p.add_argument("--margin", type=float, help="blur/pixelate/mask: region grown by this fraction per side "
                                                "(default 0.15)")
    p.add_argument("--color", type=_color, metavar="R,G,B", help="mask/eyebar: fill colour (default 0,0,0)")
    p.add_argument("--k", type=int, help="ksame: faces averaged (default 5)")
    p.add_argument("--bank", metavar="PATH", help="ksame: a folder of face photos, or a face bank .npz")
    p.add_argument("--gallery", metavar="URI", help="gallery for the re-identification rate (default: "
                                                    "$FACEQA_HOME/gallery.sqlite when it exists)")
    p.add_argument("--hold", type=float, metavar="SECONDS",
                   help="video: keep protecting a face missed by the detector for this long (default 0.3)")
    p.add_argument("--no-progress", action="store_true", help="hide progress bars")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Protect the media and report."""
    from pathlib import Path

    from faceqa.gallery import default_gallery_uri
    from faceqa.privacy.api import deidentify
    from faceqa.privacy.video import HOLD_S

    options = {name: getattr(args, name) for name in ("strength", "blocks", "margin", "color", "k", "bank")
               if getattr(args, name) is not None}
    gallery = args.gallery
    if args.evaluate and gallery is None and Path(default_gallery_uri()).is_file():
        gallery = default_gallery_uri()
    result = deidentify(args.media, args.method, out=args.out, evaluate=args.evaluate, gallery=gallery,
                        hold_s=HOLD_S if args.hold is None else args.hold, eval_frames=args.eval_frames,
                        progress=not args.no_progress, overwrite=args.overwrite, **options)
    if args.json:
        print_json(result)
    else:
        _print(result)
    return 0


def _fmt(value: float | None, spec: str = ".3f") -> str:
    return "n/a" if value is None else format(value, spec)


def _print(r: dict) -> None:
    settings = ", ".join(f"{k} {v}" for k, v in r["method"].items() if k != "method")
    print(f"{r['media']}: protected {r['faces_protected']} face(s) in {r['frames_with_faces']} of {r['frames']} "
          f"frame(s) with {r['method']['method']} ({settings}) -> {r['out']} in {r['seconds']:.1f} s")
    if r["carried"] or r["backfilled"]:
        print(f"  missed detections covered: {r['carried']} carried forward, {r['backfilled']} back-filled")
    e = r.get("evaluation")
    if e is None:
        return
    pv, ut, qu = e["privacy"], e["utility"], e["quality"]
    reid = (f"re-identification {_fmt(pv['reidentification_rate'], '.2f')} ({pv['reid_faces']} face(s) known to "
            "the gallery)" if pv["reid_faces"] else "re-identification n/a (no face known to a gallery)")
    print(f"  privacy: verification success {_fmt(pv['verification_success_rate'], '.2f')} (mean identity "
          f"distance {_fmt(pv['mean_identity_distance'])}, threshold {pv['threshold']:.2f}); {reid}")
    au = _fmt(ut["au_correlation"])
    if ut["au_correlation"] is not None:
        au += f" over {ut['au_frames']} frames"
    elif e["frames_evaluated"] > 1:
        au += f" (the face was measured in {ut['au_frames']} protected frame(s))"
    print(f"  utility: emotion agreement {_fmt(ut['emotion_agreement'], '.2f')}, landmark NME "
          f"{_fmt(ut['landmark_nme'])}, detection rate {_fmt(ut['detection_rate'], '.2f')}, AU correlation {au}")
    print(f"  quality: PSNR {_fmt(qu['psnr_db'], '.1f')} dB, SSIM {_fmt(qu['ssim'])} ({qu['region']}); "
          f"{e['faces_evaluated']} face(s) in {e['frames_evaluated']} frame(s) evaluated")
