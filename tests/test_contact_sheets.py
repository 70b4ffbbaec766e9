"""scripts/contact_sheets.py: the labellers' frame sheets (frame indices in decoding order, a tile each)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import cv2
import numpy as np
import pytest

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "contact_sheets.py"


def _script():
    spec = importlib.util.spec_from_file_location("contact_sheets", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _video(path: Path, n: int = 23) -> Path:
    """A small clip whose frame i is filled with grey level 10 * i, so a tile tells which frame it shows."""
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 25.0, (64, 48))
    for i in range(n):
        writer.write(np.full((48, 64, 3), 10 * i, np.uint8))
    writer.release()
    return path


def test_sheets_hold_every_step_th_frame_in_decoding_order(tmp_path, capsys):
    script = _script()
    video = _video(tmp_path / "clip.avi")
    out = tmp_path / "sheets"
    assert script.main([str(video), str(out), "--step", "2", "--cols", "3", "--rows", "2", "--size", "40",
                        "--region", "full", "--detector", str(tmp_path / "none.onnx")]) == 0
    names = sorted(p.name for p in out.glob("*.png"))
    # frames 0, 2, ..., 22: twelve tiles, six a sheet
    assert names == ["full_00000_00010_step2.png", "full_00012_00022_step2.png"]
    sheet = cv2.imread(str(out / names[1]))
    assert sheet.shape == (80, 120, 3)
    # the tile of frame 14 (second of the first row) shows that frame's grey level below its stamp
    assert abs(int(sheet[25, 70, 0]) - 140) <= 6  # tiles 40 x 30: the frame, then black
    assert "23 frames" in capsys.readouterr().out


def test_a_short_last_row_is_filled_and_a_hand_set_box_is_used(tmp_path):
    script = _script()
    frames = [np.full((48, 64, 3), 10 * i, np.uint8) for i in range(5)]
    tiles = [(i, script.tile(frame, (8, 8, 40, 40), 30, i)) for i, frame in enumerate(frames)]
    [(indices, sheet)] = script.sheets(tiles, cols=3, rows=2)
    assert indices == [0, 1, 2, 3, 4] and sheet.shape == (60, 90, 3)
    assert sheet[45:, 60:].max() == 0  # the sixth tile is black
    assert script.region_box((10, 20, 50, 60), "eyes", (48, 64, 3)) == (10, 20, 50, 40)
    assert script.region_box((10, 20, 50, 60), "mouth", (48, 64, 3)) == (10, 40, 50, 60)
    assert script.region_box(None, "face", (48, 64, 3)) == (0, 0, 64, 48)


def test_bad_input_is_refused_with_one_line(tmp_path):
    script = _script()
    with pytest.raises(SystemExit, match="no such file"):
        script.main([str(tmp_path / "missing.mp4"), str(tmp_path / "out")])
    junk = tmp_path / "junk.mp4"
    junk.write_bytes(b"not a video")
    with pytest.raises(SystemExit, match="no frame could be decoded"):
        script.main([str(junk), str(tmp_path / "out")])
    video = _video(tmp_path / "clip.avi", 4)
    with pytest.raises(SystemExit, match="--box '1,2,3': expected four integers"):
        script.main([str(video), str(tmp_path / "out"), "--box", "1,2,3"])
    with pytest.raises(SystemExit, match="no frame in 10..3"):
        script.main([str(video), str(tmp_path / "out"), "--start", "10"])


def test_the_face_box_comes_from_the_stock_detector_on_a_real_face(shared_data, tmp_path):
    """On a real clip the YuNet box frames the face: it lies inside the frame and is face-shaped."""
    script = _script()
    frames = [frame for i, frame in script.frames(shared_data / "videos" / "liveportrait" / "d3.mp4")
              if i < 30 and i % 5 == 0]
    box = script.face_box(frames, script.DETECTOR)
    assert box is not None
    x0, y0, x1, y1 = box
    height, width = frames[0].shape[:2]
    assert 0 <= x0 < x1 <= width and 0 <= y0 < y1 <= height
    assert 0.6 < (x1 - x0) / (y1 - y0) < 1.6 and (x1 - x0) > width / 5
