"""``faceqa protect IMAGE --target TARGET --out protected.png``: make recognizers read a face as someone else."""

from __future__ import annotations

import argparse

from faceqa.cli.output import print_json


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``protect`` subcommand."""
    from faceqa.privacy.protect import EPS, MAX_AU

    p = sub.add_parser("protect", help="protect a photo against face recognition (MAP-style: a slight expression "
                                       "and texture change that reads as a target identity)",
                       description="Change the largest face of IMAGE (mesh-guided expression warps plus a bounded, "
                                   "smooth texture perturbation, confined to the face) so that SFace matches it to "
                                   "the face in TARGET_IMAGE; the two objectives (target identity, plausible "
                                   "expression) are combined by gradient projection. A white-box attack on SFace: "
                                   "--evaluate reports how it transfers to dlib.")
    p.add_argument("image", metavar="IMAGE", help="photo to protect")
    p.add_argument("--target", required=True, metavar="TARGET_IMAGE", help="photo of another person to look like")
    p.add_argument("--out", required=True, metavar="FILE", help="protected image (.png: lossless)")
    p.add_argument("--steps", type=int, default=80, help="most optimisation steps (default 80)")
    p.add_argument("--eps", type=float, default=EPS, help=f"texture bound in grey levels (default {EPS:g})")
    p.add_argument("--max-au", type=float, default=MAX_AU, help=f"largest AU amount (default {MAX_AU:g})")
    p.add_argument("--seed", type=int, default=0, help="seed of the alignment jitter")
    p.add_argument("--evaluate", action="store_true",
                   help="print white-box (SFace) and black-box (dlib) success, PSNR/SSIM, expression change, time")
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Protect the image and report."""
    from faceqa.privacy.protect import protect_image

    r = protect_image(args.image, args.target, args.out, evaluate=args.evaluate, steps=args.steps, eps=args.eps,
                      max_au=args.max_au, seed=args.seed)
    if args.json:
        print_json(r)
        return 0
    wb = r["white_box"]
    print(f"wrote {r['out']}: {r['steps']} steps in {r['seconds']:.1f} s; SFace-torch cosine to target "
          f"{wb['cos_target']:.3f}, to source {wb['cos_source']:.3f} (match at >= {wb['cos_threshold']:.3f})")
    e = r.get("evaluation")
    if e:
        for model, label in (("sface", "white box"), ("dlib", "black box")):
            m = e[model]
            print(f"{model} ({label}): matches source {'yes' if m['matches_source'] else 'no'} "
                  f"(d {m['distance_source']:.3f}), matches target {'yes' if m['matches_target'] else 'no'} "
                  f"(d {m['distance_target']:.3f}, threshold {m['threshold']:.2f}): "
                  f"{'protected' if m['success'] else 'not protected'}")
        print(f"quality on the face box: PSNR {e['psnr']:.2f} dB, SSIM {e['ssim']:.4f}")
        print(f"expression: {e['expression_before']} -> {e['expression_after']}"
              f"{' (changed)' if e['expression_changed'] else ''}")
        print(f"time: {r['seconds']:.1f} s")
    return 0
