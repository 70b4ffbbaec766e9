"""``faceqa ask MEDIA "QUESTION" [...]``: answer questions about the face in an image, video or frame folder."""

from __future__ import annotations

import argparse

from faceqa.cli.output import print_json


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``ask`` subcommand."""
    p = sub.add_parser("ask", help="answer a question about the face in an image or video",
                       description="Answer questions about a face: MEGC micro-expression questions (action units, "
                                   "their side, emotion classes, event counts and types) and free-form ones (when "
                                   "does she smile, who is this, same person as --compare, how many faces, head "
                                   "pose, is the video sharp enough). Several questions share one evidence pass.")
    p.add_argument("media", help="image, video file or folder of frames")
    p.add_argument("questions", nargs="+", metavar="QUESTION", help="the question(s)")
    p.add_argument("--json", action="store_true", help="print the answers with evidence, confidence and tool calls")
    p.add_argument("--answerer", choices=["auto", "llm", "composer"], default="auto",
                    help="auto (default): per question type, the LLM where the bundle's held-out score is at least "
                         "the composer's, else the composer; llm: the LLM for every question it can take; composer: "
                         "no LLM")
    p.add_argument("--no-llm", action="store_true", help="the grounded composer only (= --answerer composer)")
    p.add_argument("--bundle", metavar="DIR", help="adapter bundle of the LLM answerer (default: the installed one)")
    p.add_argument("--fps", type=float, help="frame rate (SAMM/CASME II: 200; default: the video's, or 30)")
    p.add_argument("--onset", type=int, help="first frame of the clip to ask about")
    p.add_argument("--offset", type=int, help="last frame of the clip to ask about (inclusive)")
    p.add_argument("--compare", metavar="MEDIA", help="second image or video for 'are these the same person?'")
    p.add_argument("--gallery", metavar="URI", help="gallery for 'who is this?' (default: $FACEQA_HOME/gallery.sqlite)")
    p.add_argument("--convention", choices=["casme3", "samm"],
                   help="labelling convention of the AU -> emotion deduction (default: shared weights)")
    p.add_argument("--no-progress", action="store_true", help="hide progress bars")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Answer and print."""
    from faceqa.qa import FaceQA

    qa = FaceQA(answerer="composer" if args.no_llm else args.answerer, bundle=args.bundle,
                gallery=args.gallery, convention=args.convention, progress=not args.no_progress)
    answers = qa.ask_many(args.media, args.questions, fps=args.fps, onset=args.onset, offset=args.offset,
                          compare=args.compare)
    if args.json:
        print_json([a.to_dict() for a in answers] if len(answers) > 1 else answers[0].to_dict())
        return 0
    for a in answers:
        if len(answers) > 1:
            print(f"Q: {a.question}")
        print(a.text)
        extra = (f"; {a.route}" if a.route else "") + (f"; {a.note}" if a.note else "")
        print(f"  ({a.kind}, confidence {a.confidence:.2f}, answered by the {a.answerer}{extra})")
    return 0
