"""``faceqa chat``: ChatOpenAI against a local imitation of an OpenAI-compatible server, the session, the console."""

from __future__ import annotations

import io
import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.messages import AIMessage, HumanMessage
from langchain_openai import ChatOpenAI
from rich.console import Console
from tools_fixtures import ScriptedOpenAIServer, spotting_responder, tool_call_message, write_media

from faceqa.chat import AgentAnswerer, ChatConsole, ChatSession, EndpointError, LocalAnswerer, endpoint_model
from faceqa.chat.endpoint import base_url
from faceqa.errors import InvalidInputError
from faceqa.tools.langchain import FaceQAToolkit


@pytest.fixture(scope="module")
def media(tmp_path_factory, astronaut) -> dict[str, Path]:
    return write_media(tmp_path_factory.mktemp("chat"), astronaut)


@pytest.fixture()
def toolkit(tmp_path) -> FaceQAToolkit:
    """Tools allowed nowhere useful at first: loading media into a session grants its folder."""
    return FaceQAToolkit(allowed_roots=[tmp_path], answerer="composer", read_only=True)


def test_base_url():
    assert base_url("http://h:8000/v1/") == "http://h:8000/v1"
    assert base_url("https://h/v1/chat/completions/") == "https://h/v1"
    with pytest.raises(EndpointError, match="expected an http"):
        endpoint_model("ftp://h/v1", "m")


def test_endpoint_model_sends_tools_and_key_and_parses_tool_calls(toolkit):
    with ScriptedOpenAIServer(lambda body: tool_call_message("analyze_faces", {"media": "a.png"}),
                              api_key="sk-test") as server:
        model = endpoint_model(server.url, "m1", api_key="sk-test")
        assert isinstance(model, ChatOpenAI)
        reply = model.bind_tools(toolkit.get_tools()).invoke([HumanMessage("how many faces?")])
        body, headers = server.requests[0], server.headers[0]
    assert reply.tool_calls == [{"name": "analyze_faces", "args": {"media": "a.png"}, "id": "call_1",
                                 "type": "tool_call"}]
    assert body["model"] == "m1" and body["messages"] == [{"role": "user", "content": "how many faces?"}]
    names = [t["function"]["name"] for t in body["tools"]]
    assert "spot_expressions" in names and "deidentify_faces" not in names
    spot = next(t["function"] for t in body["tools"] if t["function"]["name"] == "spot_expressions")
    assert spot["parameters"]["properties"]["mode"]["enum"] == ["auto", "clip", "long"]
    assert {k.lower(): v for k, v in headers.items()}["authorization"] == "Bearer sk-test"


def test_endpoint_errors_are_one_line(media, toolkit):
    def ask(url: str, key: str | None = None) -> None:
        session = ChatSession(AgentAnswerer(endpoint_model(url, "m", api_key=key, max_retries=0), toolkit))
        session.load(media["clip"])
        session.ask("hi")

    with ScriptedOpenAIServer(spotting_responder, api_key="right") as server:
        with pytest.raises(EndpointError, match=r"chat/completions: HTTP 401 \(invalid api key\)$"):
            ask(server.url, "wrong")
        with pytest.raises(EndpointError, match=r"HTTP 404 \(no route /v2/chat/completions\)"):
            ask(server.url.replace("/v1", "/v2"), "right")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(EndpointError, match="cannot reach the endpoint"):
        ask(f"http://127.0.0.1:{port}/v1")


def test_session_over_an_endpoint_answers_from_the_tools_and_keeps_the_conversation(media, toolkit):
    with ScriptedOpenAIServer(spotting_responder) as server:
        model = endpoint_model(server.url, "local-test")
        session = ChatSession(AgentAnswerer(model, toolkit))
        loaded = session.load(media["clip"])
        assert loaded.info.kind == "video" and loaded.info.n_frames == 45
        reply = session.ask("When does she smile?")
        follow = session.ask("And on which side?")
        requests = list(server.requests)
    assert reply.text.startswith("She smiles from frame 1") and "AU12 (R)" in reply.text
    assert [(c["name"], c["status"]) for c in reply.tool_calls] == [("spot_expressions", "success")]
    assert reply.evidence["spot_expressions"]["counts"]["events"] == 1
    assert str(media["clip"]) in requests[0]["messages"][0]["content"]
    tool_msg = requests[1]["messages"][-1]
    assert tool_msg["role"] == "tool" and json.loads(tool_msg["content"])["events"][0]["aus"][0]["au"] == 12
    # the follow-up is sent with the whole first exchange (question, tool call, tool result, answer)
    roles = [m["role"] for m in requests[2]["messages"]]
    assert roles == ["system", "user", "assistant", "tool", "assistant", "user"]
    assert follow.text and len(session.turns) == 2


def test_console_loop_with_scripted_input(media, toolkit):
    script = [AIMessage("", tool_calls=[{"name": "action_units", "args": {"media": str(media["clip"])}, "id": "u"}]),
              AIMessage("**AU12** on the right.")]
    session = ChatSession(AgentAnswerer(GenericFakeChatModel(messages=iter(script)), toolkit))
    session.load(media["clip"], onset=15, offset=28)
    lines = iter(["/help", "/media", "", "which action units?", "/evidence", "/load nowhere.mp4", "/bogus", "/quit",
                  "never read"])

    def read(prompt: str) -> str:
        return next(lines)

    out = io.StringIO()
    code = ChatConsole(session, Console(file=out, width=120, color_system=None), read=read).run()
    text = out.getvalue()
    assert code == 0 and next(lines) == "never read"
    assert "smile.mp4: video, 14 frames at 30 fps (0.5 s), 360x360, frames 15..28" in text
    assert "/load PATH" in text and "AU12 on the right." in text
    assert "tools: action_units" in text and '"au": 12' in text
    assert "error: nowhere.mp4: no such file or folder" in text and "unknown command '/bogus'" in text


def test_console_reports_errors_and_ends_at_end_of_input(toolkit):
    session = ChatSession(AgentAnswerer(GenericFakeChatModel(messages=iter([])), toolkit))
    lines = iter(["   "])

    def read(prompt: str) -> str:
        try:
            return next(lines)
        except StopIteration:
            raise EOFError from None

    out = io.StringIO()
    assert ChatConsole(session, Console(file=out, width=100, color_system=None), read=read).run() == 0
    assert "no media loaded (/load PATH)" in out.getvalue()
    with pytest.raises(InvalidInputError, match="the question is empty"):
        session.ask("  ")


def _faceqa(*args: str, stdin: str, cwd: Path, env: dict | None = None) -> subprocess.CompletedProcess:
    script = Path(sys.executable).with_name("faceqa")
    command = [str(script)] if script.exists() else [sys.executable, "-m", "faceqa.cli.main"]
    return subprocess.run([*command, *args], input=stdin, capture_output=True, text=True, cwd=cwd, timeout=120,
                          env={**os.environ, "COLUMNS": "120", **(env or {})})


def test_chat_command_answers_piped_questions_through_an_endpoint(media, tmp_path):
    with ScriptedOpenAIServer(spotting_responder, api_key="sk-env") as server:
        proc = _faceqa("chat", str(media["clip"]), "--endpoint", server.url, "--model", "test-model",
                       "--api-key-env", "FACEQA_TEST_KEY", stdin="When does she smile?\n/evidence\n",
                       cwd=tmp_path, env={"FACEQA_TEST_KEY": "sk-env"})
    assert proc.returncode == 0, proc.stderr
    assert "faceqa chat · test-model · " in proc.stdout and "45 frames at 30 fps" in proc.stdout
    assert "She smiles from frame 1" in proc.stdout and "tools: spot_expressions" in proc.stdout
    assert '"spot_expressions"' in proc.stdout and '"micro": 1' in proc.stdout


def test_chat_command_errors(media, tmp_path):
    proc = _faceqa("chat", str(media["clip"]), "--endpoint", "http://127.0.0.1:9/v1", stdin="", cwd=tmp_path,
                   env={"FACEQA_CHAT_MODEL": ""})
    assert proc.returncode == 2 and proc.stderr.strip() == "faceqa: error: --endpoint needs --model NAME (or " \
                                                           "$FACEQA_CHAT_MODEL)"
    proc = _faceqa("chat", "missing.mp4", "--endpoint", "http://127.0.0.1:9/v1", "--model", "m", stdin="",
                   cwd=tmp_path)
    assert proc.returncode == 2 and "missing.mp4: no such file or folder" in proc.stderr


def test_local_answerer_answers_each_question_with_its_evidence(media):
    session = ChatSession(LocalAnswerer("composer"))
    with pytest.raises(InvalidInputError, match="no media loaded"):
        session.ask("What is the action unit?")
    session.load(media["clip"], onset=15, offset=28)
    reply = session.ask("What is the action unit?")
    assert reply.text == "lip corner puller" and reply.answerer == "composer" and reply.confidence > 0
    assert reply.evidence["aus"] and reply.tool_calls[0]["name"] == "analyze_clip"


def test_chat_command_with_the_local_composer(media, tmp_path):
    proc = _faceqa("chat", str(media["clip"]), "--no-llm", stdin="When does she smile?\nHow many faces are there?\n",
                   cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "faceqa (composer)" in proc.stdout and "The smile appears from" in proc.stdout
    assert "I see 1 face" in proc.stdout and "answered by composer · confidence" in proc.stdout
