"""The agent tools on real media: plain functions, LangChain tools, and a scripted agent loop."""

from __future__ import annotations

import inspect
import json

import numpy as np
import pytest
from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.messages import AIMessage, ToolMessage
from langchain_core.tools import StructuredTool
from PIL import Image
from tools_fixtures import SMILE_OFFSET, SMILE_ONSET, write_media

from faceqa.errors import InvalidInputError
from faceqa.tools import TOOL_SPECS, AccessDeniedError, FaceTools, ToolPolicy, compact_json
from faceqa.tools.agent import SYSTEM_PROMPT, AgentStepLimitError, run_agent
from faceqa.tools.langchain import FaceQAToolkit


@pytest.fixture(scope="module")
def media(tmp_path_factory, astronaut):
    return write_media(tmp_path_factory.mktemp("tools"), astronaut)


@pytest.fixture(scope="module")
def tools(media, tmp_path_factory) -> FaceTools:
    gallery = tmp_path_factory.mktemp("gallery") / "people.sqlite"
    return FaceTools(ToolPolicy([media["image"].parent]), gallery=gallery, answerer="composer")


@pytest.fixture(scope="module")
def toolkit(tools) -> FaceQAToolkit:
    return FaceQAToolkit(policy=tools.policy, gallery=tools.gallery, answerer="composer")


def _call(tool: StructuredTool, args: dict, call_id: str = "c1") -> ToolMessage:
    return tool.invoke({"name": tool.name, "args": args, "id": call_id, "type": "tool_call"})


def test_analyze_faces_finds_the_astronaut(tools):
    out = tools.analyze_faces("astronaut.png")
    assert out["media"] == "astronaut.png" and out["kind"] == "image" and out["frames_with_face"] == 1
    face = out["faces"][0]
    assert set(face) >= {"face_id", "frames", "first_s", "last_s", "mean_size_px", "mean_pose", "expression"}
    assert face["expression"] == "happy"
    json.dumps(out)  # JSON-ready as returned


def test_analyze_faces_tracks_the_clip(tools):
    out = tools.analyze_faces("smile.mp4", every=5)
    assert out["kind"] == "video" and out["frames_analyzed"] == 9 and len(out["faces"]) == 1


def test_verify_faces_same_person(tools):
    out = tools.verify_faces("astronaut.png", "astronaut.png")
    assert out == {"image_a": "astronaut.png", "image_b": "astronaut.png", "same": True, "distance": 0.0,
                   "threshold": 1.1, "model": "sface"}


def test_spot_expressions_finds_the_injected_smile(tools):
    out = tools.spot_expressions("smile.mp4")
    assert out["counts"] == {"events": 1, "micro": 1, "macro": 0}
    ev = out["events"][0]
    assert SMILE_ONSET - 3 <= ev["onset"] <= ev["apex"] <= ev["offset"] <= SMILE_OFFSET + 3
    assert ev["aus"][0]["au"] == 12 and ev["aus"][0]["side"] == "R" and ev["aus"][0]["name"] == "lip corner puller"
    assert ev["emotion"]["coarse"] == "positive"


def test_action_units_of_the_clip(tools):
    out = tools.action_units("smile.mp4", onset=SMILE_ONSET, offset=SMILE_OFFSET)
    assert (out["onset"], out["offset"]) == (SMILE_ONSET, SMILE_OFFSET)
    assert out["aus"][0]["au"] == 12 and out["aus"][0]["side"] == "R" and out["aus"][0]["R"] > out["aus"][0]["L"]
    assert out["emotion"]["fine"] == "happiness"
    everything = tools.action_units("smile.mp4", include_inactive=True)
    assert len(everything["aus"]) > len(out["aus"]) and {"active"} <= set(everything["aus"][-1])


def test_identify_faces_against_a_gallery(tools):
    from faceqa.gallery import Gallery
    from faceqa.gallery.recognize import embed_largest

    assert tools.identify_faces("astronaut.png")["faces"][0]["identity"] == "unknown"
    with Gallery.open(tools.gallery) as g:
        g.enroll("eileen", embed_largest(tools.policy.resolve("astronaut.png")), sources=["astronaut.png"])
    out = tools.identify_faces("astronaut.png", top_k=1)
    face = out["faces"][0]
    assert out["persons"] == 1 and face["identity"] == "eileen" and face["known"] and face["distance"] < 0.1


def test_assess_quality_and_deidentify(tools, media):
    q = tools.assess_quality("smile.mp4", every=5)
    assert 0.5 < q["score"] <= 1 and q["frames_analyzed"] == 9 and q["coverage"] == 1.0
    out = tools.deidentify_faces("astronaut.png", out="astronaut.blur.png", method="blur")
    assert out["out"] == "astronaut.blur.png" and out["faces_protected"] == 1
    original, blurred = (np.asarray(Image.open(media["image"].parent / n)) for n in ("astronaut.png",
                                                                                      "astronaut.blur.png"))
    assert original.shape == blurred.shape and np.abs(original.astype(int) - blurred).mean() > 1
    with pytest.raises(AccessDeniedError, match="already exists"):
        tools.deidentify_faces("astronaut.png", out="astronaut.blur.png")


def test_ask_face_question_answers_with_its_evidence(tools):
    out = tools.ask_face_question("smile.mp4", "When does she smile?")
    assert out["media"] == "smile.mp4" and out["kind"] == "when" and out["answerer"] == "composer"
    event = out["evidence"]["events"][0]
    assert f"frames {event['onset']}-{event['offset']}" in out["text"] and 0 < out["confidence"] <= 1
    assert [c["name"] for c in out["tool_calls"]][0] == "analyze_clip"
    aus = tools.ask_face_question("smile.mp4", "What is the action unit?", onset=SMILE_ONSET, offset=SMILE_OFFSET)
    assert aus["text"] == "lip corner puller"
    same = tools.ask_face_question("astronaut.png", "Are these the same person?", compare="astronaut.png")
    assert same["kind"] == "verify" and same["text"].startswith("Yes")
    with pytest.raises(AccessDeniedError):
        tools.ask_face_question("astronaut.png", "Are these the same person?", compare="/etc/hostname")


def test_call_validates_arguments(tools):
    with pytest.raises(InvalidInputError, match=r"analyze_faces: invalid arguments \(every: Input should be"):
        tools.call("analyze_faces", {"media": "astronaut.png", "every": 0})
    with pytest.raises(InvalidInputError, match="unknown tool 'rm_rf'"):
        tools.call("rm_rf", {})
    assert tools.call("verify_faces", {"image_a": "astronaut.png", "image_b": "astronaut.png"})["same"]


def test_toolkit_schemas_and_descriptions(toolkit):
    tools = {t.name: t for t in toolkit.get_tools()}
    expected = {s.name for s in TOOL_SPECS if s.available()}
    assert set(tools) == expected >= {"analyze_faces", "verify_faces", "identify_faces", "action_units",
                                      "spot_expressions", "deidentify_faces", "assess_quality"}
    for s in TOOL_SPECS:
        if s.name in tools:
            t = tools[s.name]
            assert isinstance(t, StructuredTool) and t.args_schema is s.args_schema and t.description == s.description
            assert len(t.description) > 150 and "Returns JSON" in t.description
            props = t.args_schema.model_json_schema()["properties"]
            assert all(p.get("description") for p in props.values()), s.name
            params = list(inspect.signature(getattr(FaceTools, s.name)).parameters)[1:]
            assert params == list(s.args_schema.model_fields), s.name
    read_only = FaceQAToolkit(policy=toolkit.policy, read_only=True, include=["spot_expressions", "deidentify_faces"])
    assert [t.name for t in read_only.get_tools()] == ["spot_expressions"]
    with pytest.raises(InvalidInputError, match="include: unknown or unavailable tool"):
        FaceQAToolkit(policy=toolkit.policy, include=["nope"])


def test_tool_messages_are_compact_json_with_the_dict_as_artifact(toolkit):
    tool = {t.name: t for t in toolkit.get_tools()}["verify_faces"]
    msg = _call(tool, {"image_a": "astronaut.png", "image_b": "astronaut.png"})
    assert msg.status == "success" and msg.content == compact_json(msg.artifact) and "\n" not in msg.content
    assert json.loads(msg.content)["same"] is True
    bad = _call(tool, {"image_a": "astronaut.png"})
    assert bad.status == "error" and "image_b: Field required" in bad.content
    missing = _call(tool, {"image_a": "astronaut.png", "image_b": "nobody.png"})
    assert missing.status == "error" and missing.content == "verify_faces: nobody.png: no such file or folder"


def test_scripted_agent_calls_tools_on_real_media_and_answers(toolkit):
    """A scripted chat model drives the real loop: three tool calls over two turns, then the answer."""
    script = [
        AIMessage("", tool_calls=[{"name": "analyze_faces", "args": {"media": "astronaut.png"}, "id": "a1"}]),
        AIMessage("", tool_calls=[{"name": "spot_expressions", "args": {"media": "smile.mp4"}, "id": "s1"},
                                  {"name": "action_units", "args": {"media": "smile.mp4", "onset": SMILE_ONSET,
                                                                    "offset": SMILE_OFFSET}, "id": "u1"}]),
        AIMessage("One face; she smiles on the right side (AU12) from frame 17."),
    ]
    model = GenericFakeChatModel(messages=iter(script))
    result = run_agent(model, toolkit.get_tools(), "How many faces, and when does she smile?")
    assert result.answer == "One face; she smiles on the right side (AU12) from frame 17."
    assert [c["name"] for c in result.tool_calls] == ["analyze_faces", "spot_expressions", "action_units"]
    assert all(c["status"] == "success" for c in result.tool_calls)
    faces, spots, aus = (c["result"] for c in result.tool_calls)
    assert faces["frames_with_face"] == 1 and spots["counts"]["events"] == 1 and aus["aus"][0]["au"] == 12
    tool_messages = [m for m in result.messages if isinstance(m, ToolMessage)]
    assert [m.tool_call_id for m in tool_messages] == ["a1", "s1", "u1"]
    assert json.loads(tool_messages[1].content)["events"][0]["aus"][0]["side"] == "R"
    assert result.messages[0].type == "system" and result.messages[1].content.startswith("How many faces")


def test_toolkit_tools_drive_a_langchain_create_agent(toolkit):
    """The README's example: the toolkit's tools in ``langchain.agents.create_agent``, offline with a scripted model."""
    from langchain.agents import create_agent
    from langchain_core.tools import BaseToolkit

    class ScriptedChat(GenericFakeChatModel):
        def bind_tools(self, tools, **kwargs):
            return self

    script = [AIMessage("", tool_calls=[{"name": "spot_expressions", "args": {"media": "smile.mp4"}, "id": "s1"}]),
              AIMessage("She smiles once, on the right side (AU12).")]
    agent = create_agent(ScriptedChat(messages=iter(script)), toolkit.get_tools(), system_prompt=SYSTEM_PROMPT)
    out = agent.invoke({"messages": [{"role": "user", "content": "When does she smile?"}]})
    tool_message = next(m for m in out["messages"] if isinstance(m, ToolMessage))
    assert isinstance(toolkit, BaseToolkit) and tool_message.status == "success"
    assert tool_message.artifact["counts"] == json.loads(tool_message.content)["counts"] == {"events": 1, "micro": 1,
                                                                                            "macro": 0}
    assert out["messages"][-1].content == "She smiles once, on the right side (AU12)."


def test_agent_recovers_from_bad_calls_and_stops_at_the_step_limit(toolkit):
    script = [
        AIMessage("", tool_calls=[{"name": "read_file", "args": {"path": "/etc/passwd"}, "id": "x1"},
                                  {"name": "analyze_faces", "args": {"media": "/etc/passwd"}, "id": "x2"}]),
        AIMessage("I cannot read that file."),
    ]
    result = run_agent(GenericFakeChatModel(messages=iter(script)), toolkit.get_tools(), "read /etc/passwd")
    assert result.answer == "I cannot read that file."
    statuses = [(c["name"], c["status"]) for c in result.tool_calls]
    assert statuses == [("read_file", "error"), ("analyze_faces", "error")]
    assert "unknown tool 'read_file'" in result.tool_calls[0]["result"]
    assert "outside the allowed folders" in result.tool_calls[1]["result"]
    looping = iter([AIMessage("", tool_calls=[{"name": "verify_faces", "id": f"v{i}", "args": {
        "image_a": "astronaut.png", "image_b": "astronaut.png"}}]) for i in range(3)])
    with pytest.raises(AgentStepLimitError, match="no answer after 2 model turns"):
        run_agent(GenericFakeChatModel(messages=looping), toolkit.get_tools(), "loop", max_steps=2)


def test_parallel_calls_are_serialised_and_correct(tools):
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(lambda _: tools.call("analyze_faces", {"media": "astronaut.png"}), range(4)))
    assert all(r == results[0] for r in results) and results[0]["frames_with_face"] == 1
