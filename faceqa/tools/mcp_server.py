"""An MCP server (official ``mcp`` SDK, stdio transport) exposing the faceqa tools.

>>> server = build_server(FaceTools(ToolPolicy(["media/"])))     # doctest: +SKIP
>>> server.run("stdio")                                            # doctest: +SKIP

Every tool of :func:`FaceTools.specs` is registered under its spec's name and description; its
input schema is the spec's pydantic model (the same one LangChain sees). A call returns the tool's
dict as structured content and as one line of JSON text. Every error comes back as a tool error
(``isError``) holding a one-line message that says what went wrong: a caller's mistake as faceqa's
message, anything unexpected as its type and text.

**Time limits.** A call runs in a worker thread under the policy's ``max_call_s`` (the work stops at
its next frame, :mod:`faceqa.deadline`); the server answers at that limit (plus a short grace)
whatever the worker does, so one bad call never blocks the calls after it.
"""

from __future__ import annotations

import functools
import inspect
from typing import Annotated, Any

import anyio
import anyio.to_thread
from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp_types import CallToolResult, TextContent, ToolAnnotations
from pydantic import BaseModel, Field

from faceqa import __version__
from faceqa.errors import FaceQAError
from faceqa.tools.functions import FaceTools, compact_json
from faceqa.tools.schemas import ToolSpec

GRACE_S = 5.0
"""Seconds the server waits past a call's time limit for the worker to stop, before answering anyway."""
INSTRUCTIONS = (
    "faceqa measures faces in images and videos: detection and tracking, identity (verify two faces, identify "
    "against a gallery), facial action units, spotted micro- and macro-expressions, quality, de-identification, "
    "and answers questions about them. Paths are relative to the folder the server was allowed to read."
)


def signature_of(model: type[BaseModel]) -> inspect.Signature:
    """A keyword-only function signature with one parameter per field of ``model`` (type, constraints,
    description and default kept), returning a dict."""
    params = []
    for name, info in model.model_fields.items():
        annotation = Annotated[(info.annotation, *info.metadata, Field(description=info.description))]
        default = inspect.Parameter.empty if info.is_required() else info.default
        params.append(inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=default, annotation=annotation))
    return inspect.Signature(params, return_annotation=dict[str, Any])


def _handler(tools: FaceTools, spec: ToolSpec):
    """The MCP tool function of ``spec``. Its signature declares the spec's arguments and a dict (the
    structured output); it returns the ``CallToolResult`` holding that dict, so the text block is
    compact JSON."""

    async def handler(**kwargs: Any) -> CallToolResult:
        limit = tools.policy.max_call_s + GRACE_S
        try:
            with anyio.fail_after(limit):
                result = await anyio.to_thread.run_sync(functools.partial(tools.call, spec.name, kwargs),
                                                        abandon_on_cancel=True)
        except TimeoutError:
            raise ToolError(f"{spec.name}: no result within {limit:g} s; the call was abandoned") from None
        except FaceQAError as exc:
            raise ToolError(str(exc)) from None
        except Exception as exc:  # noqa: BLE001 - the client must always learn why
            text = " ".join(str(exc).split())[:300] or "no message"
            raise ToolError(f"{spec.name}: unexpected {type(exc).__name__}: {text}") from None
        return CallToolResult(content=[TextContent(type="text", text=compact_json(result))], structured_content=result)

    handler.__name__ = spec.name
    handler.__doc__ = spec.description
    handler.__signature__ = signature_of(spec.args_schema)  # type: ignore[attr-defined]
    return handler


def build_server(tools: FaceTools | None = None, name: str = "faceqa", read_only: bool = False) -> MCPServer:
    """An MCP server with one tool per available faceqa tool, all behind ``tools``' policy
    (``read_only``: without the tools that write files)."""
    tools = tools or FaceTools()
    server = MCPServer(name=name, version=__version__, instructions=INSTRUCTIONS, log_level="WARNING")
    for spec in tools.specs():
        if read_only and spec.writes:
            continue
        hints = ToolAnnotations(read_only_hint=not spec.writes, destructive_hint=False, idempotent_hint=not spec.writes,
                                open_world_hint=tools.policy.allow_urls)
        server.add_tool(_handler(tools, spec), name=spec.name, description=spec.description, annotations=hints)
    return server


def serve(tools: FaceTools | None = None, read_only: bool = False) -> None:
    """Serve the faceqa tools over stdin/stdout until the client disconnects."""
    tools = tools or FaceTools()
    try:
        build_server(tools, read_only=read_only).run("stdio")
    finally:
        tools.close()
