"""``faceqa chat [MEDIA]``: ask follow-up questions about an image or a video in the terminal."""

from __future__ import annotations

import argparse
import os


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``chat`` subcommand."""
    from faceqa.tools.options import add_policy_arguments

    p = sub.add_parser("chat", help="chat about the faces in an image or a video",
                       description="An interactive session about one image or video. Answers come from faceqa's "
                                   "question answering (the local LLM, or --no-llm for the grounded composer), or "
                                   "from any OpenAI-compatible endpoint (--endpoint) whose model calls the faceqa "
                                   "tools and keeps the conversation for follow-ups; those tools read only under "
                                   "the allowed folders and the folder of the loaded media. Reads questions line by "
                                   "line from stdin, so it can be scripted.")
    p.add_argument("media", nargs="?", help="image, video file or folder of frames (or /load it later)")
    p.add_argument("--fps", type=float, help="frame rate (SAMM/CASME II: 200; default: the video's, or 30)")
    p.add_argument("--onset", type=int, help="onset frame of the clip to talk about")
    p.add_argument("--offset", type=int, help="offset frame of the clip to talk about")
    p.add_argument("--no-llm", action="store_true", help="answer with the grounded composer (no LLM)")
    p.add_argument("--bundle", metavar="DIR", help="adapter bundle for the local LLM answerer")
    p.add_argument("--gallery", metavar="URI", help="gallery for who-is-this questions (default: "
                                                    "$FACEQA_HOME/gallery.sqlite)")
    e = p.add_argument_group("OpenAI-compatible endpoint")
    e.add_argument("--endpoint", metavar="URL", help="chat-completions endpoint, e.g. http://localhost:8000/v1")
    e.add_argument("--model", help="model name at the endpoint (default: $FACEQA_CHAT_MODEL)")
    e.add_argument("--api-key-env", default="OPENAI_API_KEY", metavar="VAR",
                   help="environment variable holding the API key (default OPENAI_API_KEY; unset: no key sent)")
    e.add_argument("--max-steps", type=int, default=8, metavar="N", help="most model turns per question (default 8)")
    e.add_argument("--allow-writes", action="store_true",
                   help="offer the tools that write new files (deidentify_faces)")
    add_policy_arguments(p)
    p.set_defaults(func=run)


def _answerer(args: argparse.Namespace):
    from faceqa.chat.session import AgentAnswerer, LocalAnswerer

    qa_answerer = "composer" if args.no_llm else "auto"
    if not args.endpoint:
        return LocalAnswerer(qa_answerer, bundle=args.bundle, gallery=args.gallery)
    from faceqa.chat.endpoint import endpoint_model
    from faceqa.errors import InvalidInputError
    from faceqa.tools.langchain import FaceQAToolkit
    from faceqa.tools.options import policy_from_args

    model = args.model or os.environ.get("FACEQA_CHAT_MODEL")
    if not model:
        raise InvalidInputError("--endpoint needs --model NAME (or $FACEQA_CHAT_MODEL)")
    chat_model = endpoint_model(args.endpoint, model, api_key=os.environ.get(args.api_key_env) or None)
    toolkit = FaceQAToolkit(policy=policy_from_args(args), gallery=args.gallery, answerer=qa_answerer,
                            bundle=args.bundle, read_only=not args.allow_writes)
    return AgentAnswerer(chat_model, toolkit, max_steps=args.max_steps)


def run(args: argparse.Namespace) -> int:
    """Load the media and chat until the end of input."""
    from faceqa.chat.console import ChatConsole
    from faceqa.chat.session import ChatSession

    session = ChatSession(_answerer(args))
    if args.media:
        session.load(args.media, fps=args.fps, onset=args.onset, offset=args.offset)
    return ChatConsole(session).run()
