"""Talking heads from the astronaut and synthesised speech; mouth crops for AV-HuBERT."""

from __future__ import annotations

import json

import numpy as np
import pytest

from faceqa.media.audio import write_wav


@pytest.fixture(scope="session")
def talking(tmp_path_factory, astronaut):
    """``faceqa lipsync`` on the astronaut (256 px crop) with two espeak phrases and silences; the clip
    and its mouth track."""
    import cv2
    from speech_fixtures import utterance

    from faceqa.audiovisual import mouth_track
    from faceqa.cli.main import main

    folder = tmp_path_factory.mktemp("lipsync")
    face = cv2.resize(np.ascontiguousarray(astronaut[20:276, 110:366]), (256, 256))
    cv2.imwrite(str(folder / "face.png"), cv2.cvtColor(face, cv2.COLOR_RGB2BGR))
    x, _ = utterance(["Hello there, how are you?", "We should go now."], gap_s=1.0)
    write_wav(folder / "speech.wav", x)
    out = folder / "talking.mp4"
    assert main(["lipsync", str(folder / "face.png"), str(folder / "speech.wav"), "--out", str(out)]) == 0
    return out, mouth_track(out)


def test_lipsync_is_in_sync(talking, capsys):
    from faceqa.cli.main import main

    out, track = talking
    assert track.valid.mean() > 0.95
    assert main(["av-sync", str(out), "--json"]) == 0
    r = json.loads(capsys.readouterr().out)
    assert abs(r["offset_ms"]) <= 40 and 0 < r["confidence"] <= 1


def test_visual_voice_activity_agrees_with_audio(talking):
    from faceqa.audiovisual import visual_voice_activity
    from faceqa.media.audio import read_audio
    from faceqa.perception.voice import speech_at

    out, track = talking
    audio = read_audio(out)
    heard = speech_at(track.times_s - audio.start_s, audio) >= 0.5
    seen = visual_voice_activity(track)
    assert 0.3 < heard.mean() < 0.9  # the clip has silences, so agreement is not trivial
    assert (seen == heard)[track.valid].mean() >= 0.8


def test_mouth_roi_export(talking, tmp_path, capsys):
    from faceqa.cli.main import main

    out, track = talking
    npy = tmp_path / "mouth.npy"
    assert main(["mouth-roi", str(out), "--out", str(npy), "--json"]) == 0
    r = json.loads(capsys.readouterr().out)
    crops = np.load(npy)
    assert crops.shape == (r["frames"], 96, 96) and crops.dtype == np.uint8
    assert r["fps"] == 25 and r["centre_crop"] == 88
    assert abs(r["frames"] - round((track.times_s[-1] - track.times_s[0]) * 25) - 1) <= 1
    assert crops[len(crops) // 2].std() > 5  # a real image, not a blank


def test_lipsync_errors_name_the_input(tmp_path, capsys):
    from faceqa.cli.main import main

    assert main(["lipsync", str(tmp_path / "missing.png"), str(tmp_path / "a.wav"), "--out",
                 str(tmp_path / "x.mp4")]) == 2
    assert "missing.png" in capsys.readouterr().err


def test_speech_tools_on_the_talking_head(talking):
    from faceqa.tools import FaceTools
    from faceqa.tools.safety import ToolPolicy

    out, _ = talking
    tools = FaceTools(policy=ToolPolicy(allowed_roots=[out.parent]))
    r = tools.call("transcribe_speech", {"media": out.name})
    assert r["media"] == out.name and r["voice"]
    assert r["words"] + r["filled_pauses"] == len(r["words_timed"])
    json.dumps(r)
