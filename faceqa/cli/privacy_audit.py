"""``faceqa privacy-audit``: how much identity leaks from dlib embeddings (FEM-style reconstruction attack)."""

from __future__ import annotations

import argparse

from faceqa.cli.output import print_json
from faceqa.privacy.audit import VIDEO_FRAMES

DEFAULT_ATTACKS = 3
"""Faces reconstructed per held-out identity with the default data (a clip gives a dozen frames of one person)."""


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``privacy-audit`` subcommand."""
    p = sub.add_parser("privacy-audit", help="audit how much identity a recognizer's embeddings leak (KAN vs MLP "
                                             "mapping, reconstruction accepted by another recognizer)",
                       description="Learn a mapping (a KAN and an MLP) from dlib's embedding space to SFace's on "
                                   "training identities, reconstruct faces from held-out identities' dlib "
                                   "embeddings by optimisation through SFace-torch from a neutral (mean) start face, "
                                   "and report the mapping's cosine fidelity and how often dlib accepts the "
                                   "reconstruction as the person (attack success), against the start face alone.")
    p.add_argument("--data", metavar="FOLDER", default=None,
                   help="folder with one subfolder of face photos per identity (default: the deepface identities "
                        "of the shared test data and the main person of each shared video clip)")
    p.add_argument("--per-clip", type=int, default=VIDEO_FRAMES,
                   help=f"default data: frames sampled per shared video clip (default {VIDEO_FRAMES})")
    p.add_argument("--attack-per-identity", type=int, default=None, metavar="N",
                   help="reconstruct at most N faces of each held-out identity (default: 3 with the default data, "
                        "all with --data; the fidelity uses all)")
    p.add_argument("--held-out", type=int, default=3, help="identities held out for testing (default 3)")
    p.add_argument("--steps", type=int, default=30, help="reconstruction steps (default 30)")
    p.add_argument("--epochs", type=int, default=300, help="mapping training epochs (default 300)")
    p.add_argument("--no-flips", action="store_true", help="do not add mirror images of the crops")
    p.add_argument("--json", action="store_true", help="print the report as JSON")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Run the audit and print the report."""
    from faceqa.privacy.audit import audit_crops, default_crops, photo_crops, photos_by_folder

    crops, labels, skipped = photo_crops(*photos_by_folder(args.data)) if args.data else default_crops(
        per_clip=args.per_clip)
    per_identity = args.attack_per_identity
    if per_identity is None and not args.data:
        per_identity = DEFAULT_ATTACKS
    r = audit_crops(crops, labels, held_out=args.held_out, steps=args.steps, epochs=args.epochs,
                    flips=not args.no_flips, attack_per_identity=per_identity, skipped=skipped)
    if args.json:
        print_json(r)
        return 0
    print(f"leaked: {r['leaked']} embeddings; inverted through {r['inverted_through']}; {r['train_faces']} training "
          f"crops, {r['test_faces']} held-out crops of {r['held_out_identities']} of {r['identities']} identities "
          f"({r['attacked_faces']} attacked)")
    print(f"no-attack baseline (the start face accepted by dlib): {r['baseline_start_face_dlib_success']:.3f}")
    print(f"{'mapper':<6} {'fidelity':>9} {'>=match':>8} {'dlib success':>13} {'dlib dist':>10} {'sface success':>14}")
    for kind in ("kan", "mlp"):
        m = r[kind]
        print(f"{kind:<6} {m['cosine_fidelity']:>9.3f} {m['fidelity_above_match']:>8.3f} "
              f"{m['attack_success_dlib']:>13.3f} {m['mean_dlib_distance']:>10.3f} {m['attack_success_sface']:>14.3f}")
    print(f"time: {r['seconds']:.1f} s")
    return 0
