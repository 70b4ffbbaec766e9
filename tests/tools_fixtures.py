"""Media and a scripted OpenAI-compatible server for the tool, MCP and chat tests."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np
from PIL import Image

SMILE_ONSET, SMILE_APEX, SMILE_OFFSET = 15, 21, 28


async def mcp_answer(client, name: str, args: dict) -> tuple[bool, str]:
    """(is_error, text) of one MCP tool call; a protocol-level error is an answer too."""
    try:
        result = await client.call_tool(name, args)
    except Exception as exc:  # noqa: BLE001
        return True, str(exc)
    return bool(result.is_error), " ".join(c.text for c in result.content)


def write_media(folder: Path, astronaut: np.ndarray) -> dict[str, Path]:
    """``astronaut.png`` and ``smile.mp4`` (45 frames at 30 fps, a right-side AU12 smile at frames 15..28)."""
    from faceqa.synth import ClipSpec, InjectedAU, InjectedEvent, make_clip

    folder.mkdir(parents=True, exist_ok=True)
    image = folder / "astronaut.png"
    Image.fromarray(astronaut).save(image)
    clip = folder / "smile.mp4"
    spec = ClipSpec(45, 30.0, [InjectedEvent(SMILE_ONSET, SMILE_APEX, SMILE_OFFSET, [InjectedAU(12, "R", 0.7)])])
    make_clip(np.ascontiguousarray(astronaut[0:360, 45:405]), spec, clip)
    return {"image": image, "clip": clip}


Responder = Callable[[dict], dict]
"""Gets a chat-completions request body, returns the reply's ``message`` (role, content, tool_calls)."""


class ScriptedOpenAIServer:
    """A local HTTP server imitating ``POST /v1/chat/completions``; records every request body.

    ``responder`` builds each reply's message; the server wraps it as a chat-completions reply.
    A request with a wrong path, or without ``model``/``messages``, gets an OpenAI-style error.
    """

    def __init__(self, responder: Responder, api_key: str | None = None):
        self.responder = responder
        self.api_key = api_key
        self.requests: list[dict] = []
        self.headers: list[dict] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:
                return

            def _send(self, code: int, payload: dict) -> None:
                data = json.dumps(payload).encode()
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                server.requests.append(body)
                server.headers.append(dict(self.headers))
                if self.path != "/v1/chat/completions":
                    return self._send(404, {"error": {"message": f"no route {self.path}"}})
                if server.api_key and self.headers.get("Authorization") != f"Bearer {server.api_key}":
                    return self._send(401, {"error": {"message": "invalid api key"}})
                if "model" not in body or "messages" not in body:
                    return self._send(400, {"error": {"message": "model and messages are required"}})
                message = server.responder(body)
                self._send(200, {"id": "chatcmpl-test", "object": "chat.completion", "model": body["model"],
                                 "choices": [{"index": 0, "message": message,
                                              "finish_reason": "tool_calls" if message.get("tool_calls") else "stop"}],
                                 "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2}})

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        """Base URL (``http://127.0.0.1:PORT/v1``)."""
        return f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"

    def __enter__(self) -> ScriptedOpenAIServer:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def tool_call_message(name: str, arguments: dict, call_id: str = "call_1") -> dict:
    """An assistant message asking for one tool call, as OpenAI sends it (arguments as a JSON string)."""
    return {"role": "assistant", "content": None,
            "tool_calls": [{"id": call_id, "type": "function",
                            "function": {"name": name, "arguments": json.dumps(arguments)}}]}


def spotting_responder(body: dict) -> dict:
    """Calls ``spot_expressions`` on the media named in the system prompt, then answers from its result."""
    last = body["messages"][-1]
    if last["role"] == "user":
        system = body["messages"][0]["content"]
        path = system.split("Pass this path to the tools: ")[1].split(",")[0].rstrip(".")
        return tool_call_message("spot_expressions", {"media": path})
    result = json.loads(last["content"])
    first = result["events"][0]
    aus = ", ".join(f"AU{a['au']} ({a['side']})" for a in first["aus"])
    return {"role": "assistant", "content": f"She smiles from frame {first['onset']} to {first['offset']} "
                                            f"({first['kind']}); action units: {aus}."}
