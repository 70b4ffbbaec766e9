"""The faceqa command: analyze, models, and one-line errors with exit code 2."""

from __future__ import annotations

import json

import pandas as pd
from PIL import Image

from faceqa.cli.main import main


def test_models_lists_registry_with_availability(capsys):
    assert main(["models", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    names = {r["name"] for r in rows}
    assert {"blazeface_short", "blazeface_full", "face_mesh", "dlib_resnet", "emotion_fer", "smollm2"} <= names
    assert all(r["available"] for r in rows if r["name"] in ("face_mesh", "blazeface_full"))


def test_analyze_image_json(tmp_path, astronaut, capsys):
    Image.fromarray(astronaut).save(tmp_path / "astronaut.png")
    assert main(["analyze", str(tmp_path / "astronaut.png"), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["frames_with_face"] == 1
    assert out["faces"][0]["expression"] == "happy"


def test_analyze_video_writes_csv_and_parquet(astronaut_video, tmp_path, capsys):
    for ext in ("csv", "parquet"):
        out = tmp_path / f"frames.{ext}"
        assert main(["analyze", str(astronaut_video), "--out", str(out), "--every", "4", "--no-progress"]) == 0
        df = pd.read_csv(out) if ext == "csv" else pd.read_parquet(out)
        assert len(df) == 10 and list(df["frame"]) == list(range(0, 40, 4))
        assert {"x_0", "y_0", "pose_yaw", "emotion_neutral", "quality_sharpness"} <= set(df.columns)
    assert "table written to" in capsys.readouterr().out


def test_bad_input_is_one_line_exit_2(tmp_path, capsys):
    (tmp_path / "corrupt.mp4").write_bytes(b"\x00" * 100)
    for args in (["analyze", str(tmp_path / "missing.mp4")], ["analyze", str(tmp_path / "corrupt.mp4")],
                 ["analyze", str(tmp_path / "corrupt.mp4"), "--out", str(tmp_path / "x.txt")]):
        assert main(args) == 2
        err = capsys.readouterr().err.strip()
        assert err.startswith("faceqa: error:") and "\n" not in err
        assert "Traceback" not in err
