"""faceqa spot / faceqa aus on a generated micro-expression clip."""

from __future__ import annotations

import json

import numpy as np
import pytest

from faceqa.cli.main import main
from faceqa.synth import ClipSpec, InjectedAU, InjectedEvent, make_clip


@pytest.fixture(scope="module")
def clip(tmp_path_factory, astronaut):
    folder = tmp_path_factory.mktemp("clip") / "au12R"
    spec = ClipSpec(75, 30.0, [InjectedEvent(30, 36, 43, [InjectedAU(12, "R", 0.7)])])
    make_clip(np.ascontiguousarray(astronaut[0:360, 45:405]), spec, folder)
    return folder


def test_spot_json_and_plot(clip, tmp_path, capsys):
    png = tmp_path / "timeline.png"
    assert main(["spot", str(clip), "--fps", "30", "--json", "--plot", str(png), "--no-progress"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert len(out["events"]) == 1
    e = out["events"][0]
    assert e["kind"] == "micro" and e["onset"] <= 36 <= e["offset"]
    assert e["aus"][0]["au"] == 12 and e["aus"][0]["name"] == "lip corner puller" and e["aus"][0]["side"] == "R"
    assert e["emotion"]["coarse"] in {"positive", "negative", "surprise"}
    assert png.stat().st_size > 10_000


def test_aus_reports_the_injected_au(clip, capsys):
    assert main(["aus", str(clip), "--fps", "30", "--onset", "30", "--offset", "43", "--json", "--no-progress"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["onset"] == 30 and out["offset"] == 43
    assert out["aus"][0]["au"] == 12 and out["aus"][0]["side"] == "R"


def test_spot_bad_input(tmp_path, capsys):
    (tmp_path / "empty").mkdir()
    assert main(["spot", str(tmp_path / "empty")]) == 2
    assert "no image frames" in capsys.readouterr().err


def test_spot_takes_spotting_parameters_and_refuses_unknown_ones(clip, capsys):
    args = ["spot", str(clip), "--fps", "30", "--json", "--no-progress"]
    assert main(args + ["--param", "threshold=9"]) == 0  # no AU reaches 9 on the 0-5 scale
    assert json.loads(capsys.readouterr().out)["events"] == []
    assert main(args + ["--param", "thresold=2"]) == 2
    assert "unknown spotting parameter 'thresold'" in capsys.readouterr().err
    assert main(args + ["--param", "split_penalty=-1"]) == 2
    assert "expected a finite number >= 0" in capsys.readouterr().err
