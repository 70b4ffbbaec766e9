"""``faceqa mcp`` as a real server process, driven over stdio by the official MCP SDK client."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import anyio
import pytest
from mcp import ClientSession, StdioServerParameters, stdio_client
from tools_fixtures import write_media

from faceqa.tools import TOOL_SPECS


def _server_command() -> tuple[str, list[str]]:
    """The installed ``faceqa`` script beside this interpreter, or ``python -m faceqa.cli.main``."""
    script = Path(sys.executable).with_name("faceqa")
    if script.exists():
        return str(script), []
    return sys.executable, ["-m", "faceqa.cli.main"]


@pytest.fixture(scope="module")
def workdir(tmp_path_factory, astronaut) -> Path:
    root = tmp_path_factory.mktemp("mcp")
    write_media(root / "media", astronaut)
    (root / "outside.png").write_bytes((root / "media" / "astronaut.png").read_bytes())
    return root


async def _session_run(workdir: Path, *extra: str) -> dict:
    command, args = _server_command()
    params = StdioServerParameters(command=command, args=[*args, "mcp", "--allow-root", "media", *extra],
                                   cwd=str(workdir), env={**os.environ, "FACEQA_HOME": str(workdir / "home")})
    out: dict = {}
    async with stdio_client(params) as (read, write), ClientSession(read, write) as session:
        init = await session.initialize()
        out["server"] = init.server_info.name
        out["tools"] = {t.name: t for t in (await session.list_tools()).tools}
        out["spot"] = await session.call_tool("spot_expressions", {"media": "smile.mp4"})
        out["faces"] = await session.call_tool("analyze_faces", {"media": str(workdir / "media" / "astronaut.png")})
        out["escape"] = await session.call_tool("analyze_faces", {"media": "../outside.png"})
        out["bad_args"] = await session.call_tool("analyze_faces", {"media": "astronaut.png", "every": 0})
        out["missing"] = await session.call_tool("verify_faces", {"image_a": "astronaut.png", "image_b": "nobody.png"})
    return out


@pytest.fixture(scope="module")
def served(workdir) -> dict:
    return anyio.run(_session_run, workdir)


def test_lists_every_available_tool_with_its_schema(served):
    assert served["server"] == "faceqa"
    tools = served["tools"]
    assert set(tools) == {s.name for s in TOOL_SPECS if s.available()}
    for s in TOOL_SPECS:
        if s.name not in tools:
            continue
        t = tools[s.name]
        assert t.description == s.description
        schema = s.args_schema.model_json_schema()
        assert list(t.input_schema["properties"]) == list(schema["properties"])
        assert set(t.input_schema.get("required", [])) == set(schema.get("required", []))
        for name, prop in t.input_schema["properties"].items():
            assert prop["description"] == schema["properties"][name]["description"]
        assert t.annotations.read_only_hint is (not s.writes)
    assert tools["analyze_faces"].input_schema["properties"]["every"]["minimum"] == 1


def test_calls_run_the_real_tools(served):
    spot = served["spot"]
    assert not spot.is_error
    result = json.loads(spot.content[0].text)
    assert result == spot.structured_content
    assert result["counts"]["events"] == 1 and result["events"][0]["aus"][0]["au"] == 12
    faces = served["faces"]
    assert not faces.is_error and faces.structured_content["frames_with_face"] == 1


def test_hostile_and_bad_calls_are_tool_errors_with_one_line_messages(served):
    escape = served["escape"]
    assert escape.is_error and "../outside.png: outside the allowed folders" in escape.content[0].text
    bad = served["bad_args"]
    assert bad.is_error and "every" in bad.content[0].text
    missing = served["missing"]
    assert missing.is_error and missing.content[0].text.endswith("nobody.png: no such file or folder")


def test_read_only_server_leaves_out_writing_tools(workdir):
    async def names() -> set[str]:
        command, args = _server_command()
        params = StdioServerParameters(command=command, args=[*args, "mcp", "--read-only"], cwd=str(workdir))
        async with stdio_client(params) as (read, write), ClientSession(read, write) as session:
            await session.initialize()
            return {t.name for t in (await session.list_tools()).tools}

    listed = anyio.run(names)
    assert "deidentify_faces" not in listed and "analyze_faces" in listed


def test_bad_root_fails_fast(workdir):
    command, args = _server_command()
    proc = subprocess.run([command, *args, "mcp", "--allow-root", "no_such_dir"], cwd=workdir, capture_output=True,
                          text=True, timeout=60, stdin=subprocess.DEVNULL)
    assert proc.returncode == 2 and "allowed root no_such_dir: not an existing folder" in proc.stderr
    assert proc.stdout == ""  # nothing but the protocol ever goes to stdout
