"""``faceqa mcp``: serve the faceqa tools to an MCP client over stdio."""

from __future__ import annotations

import argparse
import sys


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``mcp`` subcommand."""
    from faceqa.tools.options import add_policy_arguments

    p = sub.add_parser("mcp", help="serve the faceqa tools to an MCP client (stdio)",
                       description="Run an MCP server on stdin/stdout exposing the faceqa tools (analyze, verify, "
                                   "identify, action units, spot expressions, ask, de-identify, quality). The tools "
                                   "read only under the allowed folders. Configure a client with the command "
                                   "`faceqa mcp --allow-root DIR`.")
    add_policy_arguments(p)
    p.add_argument("--gallery", metavar="URI", help="gallery for identify_faces (default: $FACEQA_HOME/gallery.sqlite)")
    p.add_argument("--no-llm", action="store_true", help="ask_face_question answers with the grounded composer")
    p.add_argument("--bundle", metavar="DIR", help="adapter bundle for ask_face_question's LLM answerer")
    p.add_argument("--read-only", action="store_true", help="leave out the tools that write files (deidentify_faces)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Serve until the client disconnects."""
    from faceqa.tools.functions import FaceTools
    from faceqa.tools.mcp_server import serve
    from faceqa.tools.options import policy_from_args

    policy = policy_from_args(args)
    tools = FaceTools(policy, gallery=args.gallery, answerer="composer" if args.no_llm else "auto", bundle=args.bundle)
    print(f"faceqa mcp: serving {len(tools.specs())} tools on stdio; {policy.describe()}", file=sys.stderr)
    serve(tools, read_only=args.read_only)
    return 0
