"""``faceqa chat``: ask follow-up questions about one image or video, in a terminal.

- :class:`ChatSession`: the loaded media and the turns so far; :meth:`ChatSession.ask` answers;
- answerers: :class:`LocalAnswerer` (faceqa's QA: local LLM or grounded composer) and
  :class:`AgentAnswerer` (a chat model calling the faceqa tools, e.g. :func:`endpoint_model`'s ``ChatOpenAI``);
- :class:`ChatConsole`: the rich read-answer-show loop.
"""

from faceqa.chat.console import ChatConsole, show_reply
from faceqa.chat.endpoint import EndpointError, endpoint_model
from faceqa.chat.session import AgentAnswerer, ChatReply, ChatSession, LoadedMedia, LocalAnswerer

__all__ = ["AgentAnswerer", "ChatConsole", "ChatReply", "ChatSession", "EndpointError", "LoadedMedia",
           "LocalAnswerer", "endpoint_model", "show_reply"]
