"""Generated bad input through every CLI subcommand, the tool functions and the MCP server.

Each kind of input that once crashed, hung or printed a traceback (issue 16) is generated here:
zero-byte, truncated and random media, an image whose header claims 20000x20000, a frame folder with
one oversized frame, FIFOs, devices, file names that are not UTF-8 or too long, bad option values,
bad output paths, MEGC files in other encodings, nested thousands deep or with oversized CSV
fields. The command lines run in one child process (``fuzz_runner.py``), each under a time limit,
so a signal or a hang is caught and named. Every bad input must give exit code 2 and one line
``faceqa: error: ...`` (or an argparse usage error), never a traceback, never an "unexpected" error.
"""

from __future__ import annotations

import json
import math
import os
import signal
import struct
import subprocess
import sys
import time
import zlib
from pathlib import Path

import anyio
import numpy as np
import pytest
from media_fixtures import write_video
from PIL import Image
from tools_fixtures import mcp_answer

from faceqa.errors import FaceQAError

HERE = Path(__file__).resolve().parent
NON_UTF8 = os.fsdecode(b"vid\xe9o")


def _png_header(width: int, height: int) -> bytes:
    """A PNG whose header claims ``width`` x ``height`` (a decompression bomb's first bytes)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 64)) + chunk(b"IEND", b"")


@pytest.fixture(scope="module")
def corpus(tmp_path_factory, astronaut) -> dict[str, str]:
    """Name -> path of every bad input (and ``good_*`` controls)."""
    root = tmp_path_factory.mktemp("fuzz")
    rng = np.random.default_rng(16)
    frames = [np.ascontiguousarray(astronaut[40 + 2 * i:200 + 2 * i, 160:320]) for i in range(4)]
    good = write_video(root / "good.mp4", frames)
    Image.fromarray(astronaut[::4, ::4]).save(root / "good.png")
    items: dict[str, Path | str] = {"good_clip": good, "good_image": root / "good.png"}
    (root / "empty.mp4").write_bytes(b"")
    (root / "empty.png").write_bytes(b"")
    (root / "truncated.mp4").write_bytes(good.read_bytes()[:700])
    (root / "random.mp4").write_bytes(rng.bytes(5000))
    (root / "random.png").write_bytes(rng.bytes(5000))
    (root / "random.jpg").write_bytes(b"\xff\xd8\xff\xe0" + rng.bytes(3000))
    (root / "text.avi").write_text("not a video\n")
    (root / "bomb.png").write_bytes(_png_header(20000, 20000))
    (root / "noframes").mkdir()
    (root / "noframes" / "notes.txt").write_text("x")
    big_later = root / "frames_big_later"
    big_later.mkdir()
    Image.fromarray(astronaut[::4, ::4]).save(big_later / "img001.png")
    (big_later / "img002.png").write_bytes(_png_header(13000, 13000))
    for name in ("fifo.mp4", "fifo.png", "fifo"):
        os.mkfifo(root / name)
    (root / "loop.mp4").symlink_to(root / "loop.mp4")
    bad_name = os.fsencode(root) + b"/vid\xe9o.mp4"
    with open(bad_name, "wb") as f:
        f.write(rng.bytes(3000))
    items |= {name: root / name for name in ("empty.mp4", "empty.png", "truncated.mp4", "random.mp4", "random.png",
                                             "random.jpg", "text.avi", "bomb.png", "noframes", "frames_big_later",
                                             "fifo.mp4", "fifo.png", "fifo", "loop.mp4")}
    items |= {"missing": root / "missing.mp4", "non_utf8_random": os.fsdecode(bad_name),
              "long_name": root / ("a" * 300 + ".mp4"), "long_path": str(root) + "/x" * 2100,
              "nul": str(root / "a\x00b.mp4"), "device": "/dev/zero", "under_file": root / "good.png" / "x.mp4"}
    good_non_utf8 = os.fsencode(root) + b"/good_vid\xe9o.mp4"
    os.link(good, good_non_utf8)
    items["good_non_utf8"] = os.fsdecode(good_non_utf8)
    items["root"] = root
    return {k: str(v) for k, v in items.items()}


BAD_MEDIA = ("missing", "empty.mp4", "empty.png", "truncated.mp4", "random.mp4", "random.png", "random.jpg", "text.avi",
             "bomb.png", "noframes", "frames_big_later", "fifo.mp4", "fifo.png", "fifo", "loop.mp4", "non_utf8_random",
             "long_name", "long_path", "nul", "device", "under_file")


def _media_commands(c: dict[str, str], m: str) -> dict[str, list[str]]:
    root = c["root"]
    gallery = ["--gallery", f"{root}/g.sqlite"]
    return {"analyze": ["analyze", m, "--no-progress"], "quality": ["quality", m, "--no-progress"],
            "spot": ["spot", m, "--no-progress"], "aus": ["aus", m, "--no-progress"],
            "chat": ["chat", m, "--no-llm"],
            "ask": ["ask", m, "what are the action units?", "--no-llm", "--no-progress"],
            "identify": ["gallery", "identify", m, *gallery, "--no-progress"],
            "enroll": ["gallery", "enroll", "bob", m, *gallery],
            "deid": ["deid", m, "--method", "blur", "--out", f"{root}/deid_out.png", "--no-progress"],
            "verify": ["verify", m, c["good_image"]]}


def _option_cases() -> list[tuple[str, list[str]]]:
    """Bad values for every number option of every subcommand (found by walking the parser)."""
    import argparse

    from faceqa.cli.main import build_parser

    cases = []

    def walk(parser: argparse.ArgumentParser, path: list[str]) -> None:
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                for name, sub in action.choices.items():
                    walk(sub, [*path, name])
            elif action.option_strings and getattr(action.type, "__name__", "") in ("int", "float"):
                kinds = ("-1", "99999999999999999999", "1.5", "x") if action.type.__name__ == "int" else (
                    "inf", "nan", "-inf", "1e308", "x")
                values = (kinds[len(cases) % len(kinds)], kinds[(len(cases) + 1) % len(kinds)])  # two, rotating
                for v in values:
                    cases.append((f"option {' '.join(path)} {action.option_strings[-1]} {v}",
                                  [*path, action.option_strings[-1], v]))

    parser = build_parser()
    walk(parser, [])
    commands = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction)).choices
    cases += [(f"usage {name} --no-such-option", [name, "--no-such-option"]) for name in commands]
    cases += [("usage no command", []), ("usage unknown command", ["no-such-command"])]
    return cases


def _output_cases(c: dict[str, str]) -> list[tuple[str, list[str]]]:
    root = Path(c["root"])
    cases = []
    for suffix in (".csv", ".png"):
        (root / f"outdir{suffix}").mkdir(exist_ok=True)
        link = root / f"link{suffix}"
        if not link.is_symlink():
            link.symlink_to(root / f"target{suffix}")
        fifo = root / f"out_fifo{suffix}"
        if not fifo.exists():
            os.mkfifo(fifo)
    (root / "existing.png").write_bytes(b"x")

    def bad(suffix: str) -> dict[str, str]:
        return {"under_file": f"{c['good_image']}/x{suffix}", "missing_dir": f"{root}/nowhere/x{suffix}",
                "existing_dir": f"{root}/outdir{suffix}", "dev_full": "/dev/full", "proc": f"/proc/self/x{suffix}",
                "symlink": f"{root}/link{suffix}", "fifo": f"{root}/out_fifo{suffix}",
                "too_long": f"{root}/{'b' * 300}{suffix}"}

    for kind, out in bad(".csv").items():
        if kind != "existing_dir":  # analyze --out FOLDER analyses a corpus into it (one table per clip)
            cases.append((f"output analyze --out {kind}", ["analyze", c["good_image"], "--out", out]))
        cases.append((f"output quality --out {kind}", ["quality", c["good_image"], "--out", out, "--no-progress"]))
        cases.append((f"output spot --out {kind}", ["spot", c["good_clip"], "--out", out]))
    for kind, out in bad(".png").items():
        cases.append((f"output spot --plot {kind}", ["spot", c["good_clip"], "--plot", out]))
        cases.append((f"output deid --out {kind}", ["deid", c["good_image"], "--method", "blur", "--out", out]))
    cases.append(("output spot --plot unsupported", ["spot", c["good_clip"], "--plot", f"{root}/plot.xyz"]))
    cases.append(("output analyze --out .txt", ["analyze", c["good_image"], "--out", f"{root}/table.txt"]))
    cases.append(("output deid --out existing without --overwrite",
                  ["deid", c["good_image"], "--method", "blur", "--out", f"{root}/existing.png"]))
    return cases


def _megc_cases(c: dict[str, str]) -> list[tuple[str, list[str]]]:
    root = Path(c["root"])
    row = {"video_id": "samm_test_1", "video": "006_1_2", "question": "What is the coarse expression class?",
           "answer": "négatif"}
    good = root / "gold.jsonl"
    good.write_text(json.dumps(row, ensure_ascii=False) + "\n", encoding="utf-8")
    labels = root / "labels.csv"
    labels.write_text("video,aus\n006_1_2,AU12\n")
    files = {"latin1.jsonl": (json.dumps(row, ensure_ascii=False) + "\n").encode("latin-1"),
             "utf16_nobom.jsonl": (json.dumps(row) + "\n").encode("utf-16-le"),
             "nested.jsonl": b"[" * 100000 + b"]" * 100000 + b"\n",
             "not_object.jsonl": b"[1, 2]\n", "garbage.jsonl": bytes(range(256)), "empty.jsonl": b"",
             "bad_json.jsonl": b'{"video_id": \n{"x": 1}\n'}
    csvs = {"field_limit.csv": b'video,aus\n006_1_2,"' + b"A" * 200000 + b'"\n',
            "latin1.csv": "video,aus\né,AU12\n".encode("latin-1"), "columns.csv": b"a,b\n1,2\n"}
    for name, data in {**files, **csvs}.items():
        (root / name).write_bytes(data)
    out = f"{root}/pred.jsonl"
    cases = []
    for name in files:
        cases.append((f"megc evaluate --pred {name}", ["megc", "evaluate", "--pred", str(root / name), "--gold",
                                                       str(good)]))
        cases.append((f"megc predict --questions {name}", ["megc", "predict", "--questions", str(root / name),
                                                           "--au-labels", str(labels), "--out", out, "--no-progress"]))
    for name in csvs:
        cases.append((f"megc predict --au-labels {name}", ["megc", "predict", "--questions", str(good), "--au-labels",
                                                           str(root / name), "--out", out, "--no-progress"]))
    for kind, target in (("dev_full", "/dev/full"), ("fifo", c["fifo"]), ("existing_dir", c["noframes"])):
        cases.append((f"megc predict --out {kind}", ["megc", "predict", "--questions", str(good), "--au-labels",
                                                     str(labels), "--out", target, "--no-progress"]))
    for name in ("nested.jsonl", "garbage.jsonl", "latin1.jsonl"):
        cases.append((f"train --config {name}", ["train", "--config", str(root / name)]))
    cases.append(("train --config fifo", ["train", "--config", c["fifo"]]))
    cases.append(("mcp --allow-root missing", ["mcp", "--allow-root", f"{root}/nodata"]))
    cases.append(("gallery list --gallery fifo", ["gallery", "list", "--gallery", c["fifo"]]))
    cases.append(("gallery remove --gallery folder", ["gallery", "remove", "bob", "--gallery", c["noframes"]]))
    cases.append(("gallery list --gallery device", ["gallery", "list", "--gallery", "/dev/zero"]))
    cases.append(("megc heldout --data missing", ["megc", "heldout", "--data", f"{root}/nodata", "--folds", "100000"]))
    cases.append(("megc gold --annotations missing", ["megc", "gold-from-annotations", "--annotations",
                                                     f"{root}/nodata", "--out", out]))
    return cases


def _run_cases(cases: list[tuple[str, list[str]]], tmp: Path, env: dict[str, str]) -> dict[str, dict]:
    spec = tmp / "cases.json"
    spec.write_text(json.dumps([{"id": i, "argv": argv} for i, argv in cases]))
    results = tmp / "results.jsonl"
    proc = subprocess.run([sys.executable, str(HERE / "fuzz_runner.py"), str(spec), str(results)], env=env,
                          capture_output=True, timeout=240, cwd=tmp)
    lines = [json.loads(line) for line in results.read_text().splitlines()]
    started = [line["start"] for line in lines if "start" in line]
    assert proc.returncode == 0, (f"the runner died (signal {-proc.returncode}) on case {started[-1]!r}: "
                                  f"{proc.stderr.decode(errors='replace')[-1500:]}")
    return {line["id"]: line for line in lines if "id" in line}


def _is_clean_error(result: dict) -> bool:
    lines = [line for line in result["stderr"].splitlines() if line.strip()]
    return (result["rc"] == 2 and not result["hang"] and "Traceback" not in result["stderr"] and bool(lines)
            and lines[-1].startswith("faceqa") and ": error: " in lines[-1] and "unexpected" not in lines[-1])


def test_cli_bad_input_is_one_line_exit_2_never_a_crash_or_hang(corpus, tmp_path):
    c = corpus
    cases = [(f"media {cmd} {kind}", argv) for kind in BAD_MEDIA
             for cmd, argv in _media_commands(c, c[kind]).items()
             if not (cmd == "chat" and kind == "frames_big_later")]  # chat reads the frames only when asked
    cases += _option_cases() + _output_cases(c) + _megc_cases(c)
    controls = [("control quality non-UTF-8 name", ["quality", c["good_non_utf8"], "--no-progress"]),
                ("control analyze non-UTF-8 name", ["analyze", c["good_non_utf8"], "--no-progress", "--json"])]
    env = {**os.environ, "FACEQA_HOME": str(tmp_path / "home"), "PYTHONPATH": os.pathsep.join(
        [str(HERE.parent), str(HERE), os.environ.get("PYTHONPATH", "")])}
    start = time.perf_counter()
    results = _run_cases(cases + controls, tmp_path, env)
    seconds = time.perf_counter() - start
    print(f"{len(cases)} bad-input cases + {len(controls)} controls in {seconds:.1f} s")
    missing = [i for i, _ in cases + controls if i not in results]
    assert not missing, missing
    bad = {i: results[i] for i, _ in cases if not _is_clean_error(results[i])}
    assert not bad, "\n".join(f"{i}: rc {r['rc']}{' HANG' if r['hang'] else ''}: {r['stderr'][-400:]}"
                              for i, r in list(bad.items())[:15])
    for i, _ in controls:
        assert results[i]["rc"] == 0, (i, results[i]["stderr"][-500:])


# -- the tool functions --------------------------------------------------------------------------------------


class _Timeout(BaseException):
    pass


def _raise_timeout(signum, frame):  # noqa: ARG001
    raise _Timeout


def _bad_tool_calls(c: dict[str, str]) -> list[tuple[str, str, dict]]:
    """(label, tool, arguments) of bad calls: wrong types, odd numbers, bad media of every kind."""
    calls = []
    media_tools = ("analyze_faces", "identify_faces", "action_units", "spot_expressions", "assess_quality")
    for tool in media_tools:
        for value in (123, None, [], {"a": 1}, 1.5, b"bytes"):
            calls.append((f"{tool} media={value!r}", tool, {"media": value}))
        for kind in ("missing", "empty.mp4", "truncated.mp4", "random.png", "bomb.png", "frames_big_later",
                     "fifo.mp4", "fifo", "loop.mp4", "non_utf8_random", "long_name", "long_path", "nul", "device"):
            calls.append((f"{tool} {kind}", tool, {"media": c[kind]}))
    for key, values in (("fps", (1e300, float("inf"), float("nan"), -1.0, 0, "x")),
                        ("start", (-1, 2**70, 1.5, "x")), ("end", (-5, 2**70, "x")),
                        ("every", (0, -1, 2**70, 1.5, "x"))):
        for value in values:
            calls.append((f"analyze_faces {key}={value!r}", "analyze_faces", {"media": c["good_clip"], key: value}))
    for value in (-1, 0, 2**70, "x"):
        calls.append((f"identify_faces top_k={value!r}", "identify_faces", {"media": c["good_image"], "top_k": value}))
    for value in (float("nan"), float("inf"), -1.0, "x"):
        calls.append((f"verify_faces threshold={value!r}", "verify_faces",
                      {"image_a": c["good_image"], "image_b": c["good_image"], "threshold": value}))
    calls.append(("verify_faces fifo", "verify_faces", {"image_a": c["fifo.png"], "image_b": c["good_image"]}))
    calls.append(("ask_face_question question=123", "ask_face_question", {"media": c["good_image"], "question": 123}))
    calls.append(("ask_face_question compare fifo", "ask_face_question",
                  {"media": c["good_image"], "question": "who?", "compare": c["fifo.png"]}))
    calls.append(("deidentify_faces method", "deidentify_faces", {"media": c["good_image"], "out": "x.png",
                                                                  "method": "nope"}))
    calls.append(("deidentify_faces out=/dev/full", "deidentify_faces", {"media": c["good_image"], "out": "/dev/full"}))
    calls.append(("unknown tool", "no_such_tool", {"media": c["good_image"]}))
    return calls


def test_tool_functions_raise_faceqa_errors_only(corpus):
    from faceqa.tools import FaceTools, ToolPolicy

    c = corpus
    tools = FaceTools(ToolPolicy([c["root"]], max_call_s=20))
    calls = _bad_tool_calls(c)
    old = signal.signal(signal.SIGALRM, _raise_timeout)
    failures, start = [], time.perf_counter()
    try:
        for label, tool, args in calls:
            for how in ("call", "direct"):
                if how == "direct" and not hasattr(tools, tool):
                    continue
                signal.alarm(15)
                try:
                    tools.call(tool, args) if how == "call" else getattr(tools, tool)(**args)
                except FaceQAError:
                    pass
                except _Timeout:
                    failures.append(f"{label} ({how}): hang")
                except Exception as exc:  # noqa: BLE001 - what the test looks for
                    failures.append(f"{label} ({how}): {type(exc).__name__}: {exc}")
                else:
                    failures.append(f"{label} ({how}): no error")
                finally:
                    signal.alarm(0)
    finally:
        signal.signal(signal.SIGALRM, old)
        tools.close()
    print(f"{len(calls)} bad tool calls, each by name and directly, in {time.perf_counter() - start:.1f} s")
    assert not failures, "\n".join(failures[:20])


def test_tool_reads_the_file_it_checked_when_swapped_for_a_link(tmp_path, astronaut):
    """The open file is checked, not the name: a swap to a link outside between check and read is refused."""
    from faceqa.errors import AccessDeniedError
    from faceqa.media import read_image
    from faceqa.tools import ToolPolicy

    inside, outside = tmp_path / "inside", tmp_path / "outside"
    inside.mkdir()
    outside.mkdir()
    Image.fromarray(astronaut[::8, ::8]).save(outside / "secret.png")
    (inside / "a.png").symlink_to(outside / "secret.png")  # the state after a swap
    policy = ToolPolicy([inside])
    with policy.confined(), pytest.raises(AccessDeniedError, match="outside"):
        read_image(inside / "a.png")
    (inside / "a.png").unlink()
    Image.fromarray(astronaut[::8, ::8]).save(inside / "a.png")
    with policy.confined():
        assert read_image(inside / "a.png").shape[0] == math.ceil(512 / 8)


async def _mcp_calls(tools, calls: list[tuple[str, str, dict]]) -> list[tuple[str, bool, str]]:
    from mcp import Client

    from faceqa.tools.mcp_server import build_server

    seen = []
    with anyio.fail_after(240):
        async with Client(build_server(tools)) as client:
            for label, name, args in calls:
                seen.append((label, *await mcp_answer(client, name, args)))
            listed = await client.list_tools()
            seen.append(("list after", False, str(len(listed.tools))))
    return seen


def test_mcp_server_answers_every_bad_call_with_its_reason(corpus):
    from faceqa.tools import FaceTools, ToolPolicy

    c = corpus
    tools = FaceTools(ToolPolicy([c["root"]], max_call_s=20))
    calls = [(label, name, args) for label, name, args in _bad_tool_calls(c)  # what JSON can carry (no NaN, inf)
             if all(isinstance(v, str | int | float | bool | list | dict | type(None))
                    and not (isinstance(v, float) and not math.isfinite(v)) for v in args.values())]
    start = time.perf_counter()
    try:
        seen = anyio.run(_mcp_calls, tools, calls)
    finally:
        tools.close()
    print(f"{len(calls)} bad MCP calls in one session in {time.perf_counter() - start:.1f} s")
    for label, is_error, text in seen[:-1]:
        reason = text.split(":", 1)[1] if text.startswith("Error executing tool") else text
        assert is_error and reason.strip(), (label, text)
    assert seen[-1][2] == str(len(tools.specs()))


def test_frames_decoded_ahead_are_checked_too(tmp_path, astronaut):
    """A video swapped for a link leading out after it was opened is refused when its frames are decoded,
    also on the decode-ahead thread."""
    from faceqa.errors import AccessDeniedError
    from faceqa.media import open_media
    from faceqa.media.prefetch import prefetch
    from faceqa.tools import ToolPolicy

    inside, outside = tmp_path / "inside", tmp_path / "outside"
    inside.mkdir()
    outside.mkdir()
    frames = [np.ascontiguousarray(astronaut[:96, :96])] * 3
    write_video(outside / "secret.mp4", frames)
    write_video(inside / "clip.mp4", frames)
    policy = ToolPolicy([inside])
    with policy.confined():
        media = open_media(inside / "clip.mp4")
        (inside / "clip.mp4").unlink()
        (inside / "clip.mp4").symlink_to(outside / "secret.mp4")
        with pytest.raises(AccessDeniedError, match="outside"):
            list(prefetch(media.frames()))
