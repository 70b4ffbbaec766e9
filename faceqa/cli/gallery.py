"""``faceqa gallery enroll|identify|list|remove|reembed``: recognition against a gallery of known faces."""

from __future__ import annotations

import argparse

from faceqa.cli.output import print_json


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``gallery`` subcommand and its four actions."""
    from faceqa.gallery import DEFAULT_THRESHOLD
    from faceqa.perception.identity import DEFAULT_MODEL, MODELS

    where = argparse.ArgumentParser(add_help=False)
    where.add_argument("--gallery", metavar="URI",
                       help="gallery location: a .sqlite/.db path, a .milvus.db Milvus Lite path or a "
                            "http(s):// Milvus server (default $FACEQA_HOME/gallery.sqlite, ~/.faceqa)")
    where.add_argument("--model", choices=MODELS, default=None,
                       help=f"identity model to embed with (default {DEFAULT_MODEL}); a gallery holds one "
                            "model's vectors and refuses another's (see reembed)")
    where.add_argument("--json", action="store_true", help="print the result as JSON")
    p = sub.add_parser("gallery", help="enrol known faces, identify faces in images and videos",
                       description="A gallery of known people: several face images per person, open-set "
                                   "identification (\"unknown\" when no one is within the threshold).")
    actions = p.add_subparsers(dest="gallery_command", metavar="ACTION")
    actions.required = True

    enroll = actions.add_parser("enroll", parents=[where], help="add face images of one person",
                                description="Embed one face per image and store them under NAME (all or none).")
    enroll.add_argument("name", metavar="NAME", help="the person's name")
    enroll.add_argument("images", metavar="IMAGE", nargs="+", help="image files, one face each")
    enroll.add_argument("--largest", action="store_true",
                        help="use the largest face of an image that shows several (default: refuse it)")
    enroll.set_defaults(func=run)

    identify = actions.add_parser("identify", parents=[where], help="who is in an image or a video",
                                  description="Identify every face of an image, or every face track of a "
                                              "video on its sharpest near-frontal frame.")
    identify.add_argument("media", metavar="MEDIA", help="image, video file or folder of frames")
    identify.add_argument("--top", type=int, default=3, metavar="K", help="ranked persons shown per face (default 3)")
    identify.add_argument("--threshold", type=float, default=None,
                          help=f"distance at or below which a match is accepted (default {DEFAULT_THRESHOLD})")
    identify.add_argument("--every", type=int, default=1, metavar="N", help="video: analyse one frame in N")
    identify.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    identify.set_defaults(func=run)

    listing = actions.add_parser("list", parents=[where], help="enrolled persons and their image counts")
    listing.set_defaults(func=run)

    remove = actions.add_parser("remove", parents=[where], help="delete a person and all their faces")
    remove.add_argument("name", metavar="NAME", help="the person to delete")
    remove.set_defaults(func=run)

    reembed = actions.add_parser("reembed", parents=[where], help="re-compute the gallery with another model",
                                 description="Re-embed every enrolled face from its enrolment image with "
                                             "--model (default: the default model) and record that model; "
                                             "names the persons to enrol again when an image is gone.")
    reembed.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Run the chosen gallery action."""
    from faceqa.gallery import Gallery

    with Gallery.open(args.gallery, model=args.model) as gallery:
        return {"enroll": _enroll, "identify": _identify, "list": _list, "remove": _remove, "reembed": _reembed}[
            args.gallery_command](gallery, args)


def _enroll(gallery, args: argparse.Namespace) -> int:
    from functools import partial

    from faceqa.gallery.recognize import embed_faces, embed_largest

    gallery.check_model()
    embed = partial(embed_largest if args.largest else embed_faces, model=gallery.model)
    ids = gallery.enroll_images(args.name, args.images, embed)
    total = gallery.list()[args.name]
    if args.json:
        print_json({"person": args.name, "added": len(ids), "total": total, "gallery": gallery.location})
    else:
        print(f"enrolled {len(ids)} face(s) as {args.name!r} ({total} in all) in {gallery.location}")
    return 0


def _identify(gallery, args: argparse.Namespace) -> int:
    from faceqa.gallery.recognize import identify_media

    gallery.check_model()
    result = identify_media(args.media, gallery, top_k=args.top, threshold=args.threshold, every=args.every,
                            progress=not args.no_progress)
    if args.json:
        print_json(result)
        return 0
    print(f"{result['media']}: {len(result['faces'])} face(s), gallery {result['gallery']} "
          f"({result['persons']} persons), threshold {result['threshold']:.3f}")
    for face in result["faces"]:
        x0, y0, x1, y1 = face["bbox"]
        where = f"frame {face['frame']} ({face['time_s']:.2f} s), " if result["kind"] not in ("image", "array") else ""
        head = f"  face {face['face_id']} [{where}box {x0:.0f},{y0:.0f}-{x1:.0f},{y1:.0f}]: "
        if face["known"]:
            print(f"{head}{face['identity']} at distance {face['distance']:.3f}")
        elif face["matches"]:
            print(f"{head}unknown (nearest {face['matches'][0]['person']} at {face['distance']:.3f} "
                  f"> {result['threshold']:.3f})")
        else:
            print(f"{head}unknown (the gallery is empty)")
        for rank, m in enumerate(face["matches"], 1):
            print(f"      {rank}. {m['person']:<20} {m['distance']:.3f} {'<=' if m['known'] else '> '} threshold"
                  f"{'  (' + m['source'] + ')' if m['source'] else ''}")
    return 0


def _list(gallery, args: argparse.Namespace) -> int:
    persons = gallery.list()
    if args.json:
        print_json({"gallery": gallery.location, "model": gallery.recorded_model, "persons": persons})
        return 0
    print(f"{gallery.location}: {len(persons)} person(s), {sum(persons.values())} face(s), "
          f"model {gallery.recorded_model}")
    for name, count in persons.items():
        print(f"  {name}: {count}")
    return 0


def _remove(gallery, args: argparse.Namespace) -> int:
    removed = gallery.remove(args.name)
    if args.json:
        print_json({"person": args.name, "removed": removed, "gallery": gallery.location})
    else:
        print(f"removed {args.name!r} ({removed} face(s)) from {gallery.location}")
    return 0


def _reembed(gallery, args: argparse.Namespace) -> int:
    from faceqa.gallery.recognize import reembed

    result = reembed(gallery)
    if args.json:
        print_json(result)
    else:
        print(f"re-embedded {result['vectors']} face(s) of {result['persons']} person(s) in {result['gallery']}: "
              f"{result['from']} -> {result['model']} (threshold {result['threshold']:.3f})")
    return 0
