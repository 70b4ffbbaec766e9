"""Agent surfaces: the faceqa tools as plain functions, LangChain tools and an MCP server.

- :class:`FaceTools`: the tools as Python methods returning compact JSON-ready dicts;
- :class:`FaceQAToolkit`: the same as LangChain ``StructuredTool`` objects (``get_tools()``);
- :func:`run_agent`: a minimal tool-calling loop over any LangChain chat model;
- :func:`build_server` / :func:`serve` (:mod:`faceqa.tools.mcp_server`): an MCP server over stdio;
- :class:`ToolPolicy`: the allowed folders, caps and URL switch every tool goes through.

LangChain and MCP are imported only by the modules that need them.
"""

from faceqa.errors import AccessDeniedError, LimitExceededError
from faceqa.tools.functions import FaceTools, compact_json
from faceqa.tools.safety import CheckedMedia, ToolPolicy
from faceqa.tools.schemas import TOOL_SPECS, ToolSpec

__all__ = ["TOOL_SPECS", "AccessDeniedError", "CheckedMedia", "FaceQAToolkit", "FaceTools", "LimitExceededError",
           "ToolPolicy", "ToolSpec", "compact_json", "run_agent"]


def __getattr__(name: str):
    """Import the LangChain parts on first use."""
    if name == "FaceQAToolkit":
        from faceqa.tools.langchain import FaceQAToolkit

        return FaceQAToolkit
    if name == "run_agent":
        from faceqa.tools.agent import run_agent

        return run_agent
    raise AttributeError(f"module 'faceqa.tools' has no attribute {name!r}")
