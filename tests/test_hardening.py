"""Crashes mid-run and concurrency: a torn prediction file resumes, an MCP session survives every bad call,
two processes enrol into one SQLite gallery, Milvus Lite's one-process limit is an error."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import anyio
import numpy as np
import pytest
from PIL import Image
from tools_fixtures import mcp_answer

from faceqa.cli.main import main

QUESTIONS = ("What is the coarse expression class?", "What is the fine-grained expression class?",
             "What is the action unit?")


def _question_file(path: Path, clips: list[str]) -> Path:
    rows = [{"video_id": f"samm_test_{clip}_{k}", "video": clip, "question": q, "answer": ""}
            for clip in clips for k, q in enumerate(QUESTIONS)]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def test_megc_predict_keeps_complete_rows_after_a_torn_last_line(tmp_path, capsys):
    questions = _question_file(tmp_path / "q.jsonl", ["c0", "c1", "c2"])
    labels = tmp_path / "labels.csv"
    labels.write_text("video,aus\nc0,12\nc1,4+7\nc2,R14\n")
    out = tmp_path / "pred.jsonl"
    argv = ["megc", "predict", "--questions", str(questions), "--au-labels", str(labels), "--out", str(out),
            "--no-llm", "--no-progress"]
    assert main(argv) == 0
    first = out.read_text()
    lines = first.splitlines(keepends=True)
    out.write_text("".join(lines[:4]) + lines[4][: len(lines[4]) // 2])  # a crash while writing row 5 of 9
    capsys.readouterr()
    assert main(argv) == 0
    printed = capsys.readouterr().out
    assert "4 kept from an earlier run" in printed and "dropped line 5" in printed
    assert out.read_text() == first


def test_megc_predict_refuses_question_paths_outside_the_media_root(tmp_path):
    from faceqa.errors import InvalidInputError, MediaNotFoundError
    from faceqa.megc.io import parse_row
    from faceqa.megc.media import find_media

    root = tmp_path / "root"
    root.mkdir()
    Image.fromarray(np.zeros((8, 8, 3), np.uint8)).save(tmp_path / "secret.png")
    for clip in ("../secret.png", str(tmp_path / "secret.png")):
        row = parse_row({"video_id": "samm_test_x", "video": clip, "question": "q"}, "q.jsonl", 1)
        with pytest.raises((InvalidInputError, MediaNotFoundError)):  # never the file outside
            find_media(root, row)
    row = parse_row({"video_id": "samm_test_x", "video": "../secret.png", "question": "q"}, "q.jsonl", 1)
    with pytest.raises(InvalidInputError, match="outside the media root"):
        find_media(root, row)


def test_deid_refuses_to_overwrite_without_overwrite(tmp_path, astronaut, capsys):
    src, out = tmp_path / "a.png", tmp_path / "out.png"
    Image.fromarray(astronaut[::4, ::4]).save(src)
    out.write_bytes(b"keep me")
    assert main(["deid", str(src), "--method", "blur", "--out", str(out), "--no-progress"]) == 2
    assert "--overwrite" in capsys.readouterr().err and out.read_bytes() == b"keep me"
    assert main(["deid", str(src), "--method", "blur", "--out", str(out), "--overwrite", "--no-progress"]) == 0
    assert Image.open(out).size == (128, 128)
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".faceqa-")] == []  # no temporary left


def test_catch_all_prints_one_line_and_the_traceback_only_with_v(monkeypatch, capsys):
    import faceqa.cli.verify as verify

    def boom(args):
        raise RuntimeError("something broke\nover two lines")

    monkeypatch.setattr(verify, "run", boom)
    assert main(["verify", "a.png", "b.png"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "unexpected RuntimeError: something broke over two lines" in err
    assert main(["-v", "verify", "a.png", "b.png"]) == 2
    assert "Traceback" in capsys.readouterr().err


# -- MCP: a good call after each bad one --------------------------------------------------------------------


def _session_tools(root: Path):
    from faceqa.deadline import check_deadline
    from faceqa.tools import FaceTools, ToolPolicy

    class Tools(FaceTools):
        def assess_quality(self, media: str, every: int = 1) -> dict:
            if media == "boom.png":
                raise RuntimeError("a bug inside the tool")
            if media == "slow.png":
                while True:  # a long analysis: stops at the call's time limit
                    check_deadline()
                    time.sleep(0.05)
            return super().assess_quality(media, every)

    tools = Tools(ToolPolicy([root], max_call_s=3.0))
    tools.analyze_faces("face.png")  # the models load before the session: its calls are timed
    return tools


async def _drive(root: Path) -> list[tuple[str, bool, str]]:
    from mcp import Client

    import faceqa.tools.mcp_server as mcp_server

    mcp_server.GRACE_S = 1.0
    tools = _session_tools(root)
    server = mcp_server.build_server(tools)
    good = ("analyze_faces", {"media": "face.png"})
    bad = [("unknown tool", "no_such_tool", {"media": "face.png"}),
           ("bad arguments", "analyze_faces", {"media": "face.png", "every": 0}),
           ("wrong type", "analyze_faces", {"media": 123}),
           ("corrupt media", "analyze_faces", {"media": "corrupt.png"}),
           ("outside the roots", "analyze_faces", {"media": "../outside.png"}),
           ("a FIFO", "analyze_faces", {"media": "pipe.mp4"}),
           ("fps=1e300", "analyze_faces", {"media": "face.png", "fps": 1e300}),
           ("an exception inside a tool", "assess_quality", {"media": "boom.png"}),
           ("past the time limit", "assess_quality", {"media": "slow.png"})]
    seen = []
    async with Client(server) as client:
        for label, name, args in bad:
            seen.append((label, *await mcp_answer(client, name, args)))
            result = await client.call_tool(*good)
            seen.append((f"good after {label}", bool(result.is_error), result.content[0].text[:200]))
    tools.close()
    return seen


def test_mcp_session_answers_a_good_call_after_each_bad_one(tmp_path, astronaut):
    root = tmp_path / "root"
    root.mkdir()
    Image.fromarray(astronaut[::2, ::2]).save(root / "face.png")
    (root / "corrupt.png").write_bytes(b"\x89PNG\r\n\x1a\n" + os.urandom(500))
    (root / "slow.png").write_bytes(b"x")
    (root / "boom.png").write_bytes(b"x")
    Image.fromarray(astronaut[::8, ::8]).save(tmp_path / "outside.png")
    os.mkfifo(root / "pipe.mp4")
    cwd = os.getcwd()
    os.chdir(root)
    try:
        start = time.perf_counter()
        seen = anyio.run(_drive, root)
        seconds = time.perf_counter() - start
    finally:
        os.chdir(cwd)
    for label, is_error, text in seen:
        if label.startswith("good after"):
            assert not is_error and '"faces"' in text, (label, text)
        else:
            assert is_error and text.strip(), (label, text)
    reasons = {label: text for label, _, text in seen}
    assert "no_such_tool" in reasons["unknown tool"]
    assert "outside the allowed folders" in reasons["outside the roots"]
    assert "FIFO" in reasons["a FIFO"]
    assert "fps" in reasons["fps=1e300"]
    assert "RuntimeError: a bug inside the tool" in reasons["an exception inside a tool"]
    assert "time limit" in reasons["past the time limit"]
    assert seconds < 60


# -- galleries: two writers; Milvus Lite's one-process limit ------------------------------------------------


WRITER = textwrap.dedent("""
    import os, sys, time
    import numpy as np
    from faceqa.gallery import Gallery
    path, tag, n, go = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
    rng = np.random.default_rng(ord(tag))
    with Gallery.open(path) as g:
        print("ready", flush=True)
        while not os.path.exists(go):  # both writers start together
            time.sleep(0.005)
        for i in range(n):
            g.enroll(f"{tag}{i}", rng.normal(size=(3, 128)).astype(np.float32))
""")


def test_two_processes_enrolling_into_one_sqlite_gallery_lose_nothing(tmp_path):
    from faceqa.gallery import Gallery

    path, go = tmp_path / "g.sqlite", tmp_path / "go"
    Gallery.open(path).close()  # the schema exists before the race
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(Path(__file__).resolve().parents[1]),
                                                        os.environ.get("PYTHONPATH", "")])}
    writers = [subprocess.Popen([sys.executable, "-c", WRITER, str(path), tag, "100", str(go)], env=env,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE) for tag in ("a", "b")]
    for w in writers:
        assert w.stdout.readline().strip() == b"ready", w.stderr.read().decode()[-1000:]
    go.touch()
    for w in writers:
        _, err = w.communicate(timeout=120)
        assert w.returncode == 0, err.decode()[-1000:]
    with Gallery.open(path) as g:
        persons = g.list()
    assert len(persons) == 200 and set(persons.values()) == {3}
    assert {f"a{i}" for i in range(100)} | {f"b{i}" for i in range(100)} == set(persons)


HOLDER = "import fcntl, os, sys, time; fd = os.open(sys.argv[1], os.O_RDONLY); fcntl.flock(fd, fcntl.LOCK_EX); " \
         "print('locked', flush=True); time.sleep(60)"


def test_milvus_lite_gallery_open_in_another_process_is_an_error(tmp_path):
    pytest.importorskip("pymilvus")
    from faceqa.errors import GalleryBusyError
    from faceqa.gallery import Gallery

    folder = tmp_path / "g.milvus.db"
    folder.mkdir()
    (folder / "LOCK").write_bytes(b"")
    holder = subprocess.Popen([sys.executable, "-c", HOLDER, str(folder / "LOCK")], stdout=subprocess.PIPE)
    try:  # another process holds the lock, as a running Milvus Lite does
        assert holder.stdout.readline().strip() == b"locked"
        with pytest.raises(GalleryBusyError, match="one process at a time"):
            Gallery.open(str(folder))
    finally:
        holder.kill()
        holder.wait()
