"""The faceqa tools as LangChain ``StructuredTool`` objects, in a ``BaseToolkit``.

>>> from faceqa.tools import FaceQAToolkit
>>> from langchain.agents import create_agent                       # doctest: +SKIP
>>> tools = FaceQAToolkit(allowed_roots=["media/"]).get_tools()    # doctest: +SKIP
>>> agent = create_agent(chat_model, tools)                         # doctest: +SKIP

Each tool has the pydantic argument schema and the description of its
:class:`~faceqa.tools.schemas.ToolSpec`. A tool answers with ``response_format
="content_and_artifact"``: the model reads the result as one line of JSON (the ``ToolMessage``
content), and the program gets the dict itself as the message's ``artifact``. Errors a caller
can cause (a refused path, a missing file, no face, invalid arguments) come back to the model as
an error ``ToolMessage`` holding the one-line message, so an agent can correct itself.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

from langchain_core.tools import BaseTool, BaseToolkit, StructuredTool, ToolException
from pydantic import ConfigDict

from faceqa.errors import FaceQAError, InvalidInputError
from faceqa.tools.functions import FaceTools, compact_json, validation_message
from faceqa.tools.safety import ToolPolicy
from faceqa.tools.schemas import ToolSpec


def _tool(tools: FaceTools, spec: ToolSpec) -> StructuredTool:
    def run(**kwargs) -> tuple[str, dict]:
        try:
            result = tools.call(spec.name, kwargs)
        except FaceQAError as exc:
            raise ToolException(f"{spec.name}: {exc}") from exc
        return compact_json(result), result

    return StructuredTool.from_function(
        func=run, name=spec.name, description=spec.description, args_schema=spec.args_schema,
        response_format="content_and_artifact", handle_tool_error=True,
        handle_validation_error=lambda exc: validation_message(spec.name, exc))


class FaceQAToolkit(BaseToolkit):
    """The faceqa tools for a LangChain agent, behind one safety policy (a LangChain ``BaseToolkit``).

    Args:
        allowed_roots: folders the tools may read (default: the current directory).
        allow_urls: let the tools download ``http(s)://`` media.
        max_file_mb, max_frames, max_duration_s, max_pixels: caps (see :class:`ToolPolicy`).
        gallery: gallery URI for ``identify_faces`` (default: ``$FACEQA_HOME/gallery.sqlite``).
        answerer: ``ask_face_question``'s answerer (``"auto"``, ``"composer"``, ``"llm"``).
        bundle: adapter bundle folder for the LLM answerer.
        include: names of the tools to offer (default: every available tool).
        read_only: leave out the tools that write files (``deidentify_faces``, ``protect_face``).
        policy: a ready :class:`ToolPolicy` (then the root, URL and cap arguments are not used).

    Attributes:
        functions: the :class:`~faceqa.tools.functions.FaceTools` behind the tools.
        specs: the offered tools' :class:`~faceqa.tools.schemas.ToolSpec`.
    """

    model_config = ConfigDict(arbitrary_types_allowed=True)

    functions: FaceTools
    specs: list[ToolSpec]

    def __init__(self, allowed_roots: Sequence[str | os.PathLike[str]] | None = None, allow_urls: bool = False,
                 max_file_mb: float = 500.0, max_frames: int = 5000, max_duration_s: float = 600.0,
                 max_pixels: int = 4096 * 4096, gallery: str | os.PathLike[str] | None = None,
                 answerer: str = "auto", bundle: str | os.PathLike[str] | None = None,
                 include: Sequence[str] | None = None, read_only: bool = False, policy: ToolPolicy | None = None):
        policy = policy or ToolPolicy(allowed_roots, max_file_mb=max_file_mb, max_frames=max_frames,
                                      max_duration_s=max_duration_s, max_pixels=max_pixels, allow_urls=allow_urls)
        functions = FaceTools(policy, gallery=gallery, answerer=answerer, bundle=bundle)
        specs = functions.specs()
        if include is not None:
            known = {s.name for s in specs}
            unknown = sorted(set(include) - known)
            if unknown:
                raise InvalidInputError(f"include: unknown or unavailable tool(s) {', '.join(unknown)}; "
                                  f"available: {', '.join(sorted(known))}")
            specs = [s for s in specs if s.name in include]
        if read_only:
            specs = [s for s in specs if not s.writes]
        super().__init__(functions=functions, specs=specs)

    @property
    def policy(self) -> ToolPolicy:
        """The safety policy every tool goes through."""
        return self.functions.policy

    def get_tools(self) -> list[BaseTool]:
        """One ``StructuredTool`` per offered tool."""
        return [_tool(self.functions, s) for s in self.specs]

    def close(self) -> None:
        """Remove downloaded files."""
        self.functions.close()
