"""The interactive side of ``faceqa chat``: read a line, answer it, show the answer (rich).

Lines starting with ``/`` are commands (:data:`COMMANDS`); anything else is a question about the
loaded media. End of input (Ctrl-D, or the end of piped stdin) ends the session, so the loop can
be driven by a script: ``printf 'when does she smile?\\n' | faceqa chat clip.mp4``.
"""

from __future__ import annotations

import json
from collections.abc import Callable

from rich.console import Console
from rich.markdown import Markdown
from rich.panel import Panel

from faceqa.chat.session import ChatReply, ChatSession
from faceqa.errors import FaceQAError
from faceqa.jsonable import to_jsonable

COMMANDS = {
    "/load PATH": "chat about another image or video (starts a new conversation)",
    "/evidence": "show the evidence behind the last answer (JSON)",
    "/media": "show what is loaded",
    "/help": "show these commands",
    "/quit": "end the session (also /exit, Ctrl-D)",
}


def _tool_line(reply: ChatReply) -> str:
    names = []
    for call in reply.tool_calls:
        name = call.get("name", "?")
        names.append(name if call.get("status", "success") == "success" else f"{name} (failed)")
    return ", ".join(names)


def show_reply(console: Console, reply: ChatReply) -> None:
    """Print an answer in a panel, with who answered, the confidence and the tools used below it."""
    console.print(Panel(Markdown(reply.text or "(no answer)"), title="faceqa", title_align="left",
                        border_style="green"))
    parts = [f"answered by {reply.answerer}"]
    if reply.confidence is not None:
        parts.append(f"confidence {reply.confidence:.2f}")
    if reply.tool_calls:
        parts.append(f"tools: {_tool_line(reply)}")
    parts.append("/evidence for details" if reply.evidence else "no evidence recorded")
    console.print(" · ".join(parts), style="dim")
    if reply.note:
        console.print(f"note: {reply.note}", style="dim")


class ChatConsole:
    """The read-answer-show loop over a :class:`ChatSession`.

    ``read`` gets the prompt and returns a line (EOFError ends the loop); default: ``console.input``.
    """

    def __init__(self, session: ChatSession, console: Console | None = None,
                 read: Callable[[str], str] | None = None):
        self.session = session
        self.console = console or Console()
        self.read = read or self.console.input

    def run(self) -> int:
        """Chat until /quit or end of input; returns the exit code (0)."""
        media = self.session.media
        self.console.print(f"[bold]faceqa chat[/] · {self.session.answerer.name} · "
                           + (media.describe() if media else "no media loaded (/load PATH)"))
        self.console.print("Ask about the faces; /help lists the commands.", style="dim")
        while True:
            try:
                line = self.read("[bold cyan]you>[/] ").strip()
            except (EOFError, KeyboardInterrupt):
                self.console.print()
                return 0
            if not line:
                continue
            if line.startswith("/"):
                if self.command(line):
                    return 0
                continue
            try:
                with self.console.status("thinking..."):
                    reply = self.session.ask(line)
            except FaceQAError as exc:
                self.console.print(f"[red]error:[/] {exc}")
                continue
            show_reply(self.console, reply)

    def command(self, line: str) -> bool:
        """Run one ``/`` command; True when it ends the session."""
        name, _, arg = line.partition(" ")
        name = name.lower()
        if name in ("/quit", "/exit"):
            return True
        if name == "/help":
            for usage, what in COMMANDS.items():
                self.console.print(f"  [bold]{usage}[/]  {what}")
        elif name == "/load" and arg.strip():
            try:
                media = self.session.load(arg.strip())
            except FaceQAError as exc:
                self.console.print(f"[red]error:[/] {exc}")
            else:
                self.console.print(f"loaded {media.describe()}")
        elif name == "/media":
            self.console.print(self.session.media.describe() if self.session.media else "no media loaded")
        elif name == "/evidence":
            reply = self.session.turns[-1][1] if self.session.turns else None
            if reply is None or not reply.evidence:
                self.console.print("no evidence yet: ask a question first")
            else:
                self.console.print_json(json.dumps(to_jsonable(reply.evidence), ensure_ascii=False))
        else:
            self.console.print(f"[red]unknown command {line!r}[/]; /help lists the commands")
        return False
