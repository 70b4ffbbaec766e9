"""``faceqa gallery`` enroll / identify / list / remove, on the astronaut and clips made from it."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image
from skimage import data

from faceqa.cli.main import main
from faceqa.gallery import Gallery
from faceqa.gallery.recognize import embed_faces, identify_media


@pytest.fixture(scope="module")
def photos(tmp_path_factory, astronaut):
    """The astronaut, her mirror image (a second photo of her), two of her side by side, and a face-less image."""
    d = tmp_path_factory.mktemp("photos")
    paths = {"astronaut": d / "astronaut.png", "mirror": d / "mirror.jpg", "pair": d / "pair.png",
             "coffee": d / "coffee.png"}
    Image.fromarray(astronaut).save(paths["astronaut"])
    Image.fromarray(np.ascontiguousarray(astronaut[:, ::-1])).save(paths["mirror"])
    Image.fromarray(np.concatenate([astronaut, astronaut[:, ::-1]], axis=1)).save(paths["pair"])
    Image.fromarray(data.coffee()).save(paths["coffee"])
    return paths


def cli_json(capsys, *argv: str) -> dict:
    assert main(list(argv) + ["--json"]) == 0
    return json.loads(capsys.readouterr().out)


def test_enroll_identify_list_remove(tmp_path, photos, capsys):
    g = str(tmp_path / "people.sqlite")
    out = cli_json(capsys, "gallery", "enroll", "eileen", str(photos["astronaut"]), "--gallery", g)
    assert out == {"person": "eileen", "added": 1, "total": 1, "gallery": g}
    assert cli_json(capsys, "gallery", "list", "--gallery", g)["persons"] == {"eileen": 1}

    found = cli_json(capsys, "gallery", "identify", str(photos["mirror"]), "--gallery", g)
    assert found["kind"] == "image" and len(found["faces"]) == 1
    face = found["faces"][0]
    assert face["identity"] == "eileen" and face["known"] and face["distance"] < 0.4
    assert face["matches"][0]["source"] == str(photos["astronaut"])

    strict = cli_json(capsys, "gallery", "identify", str(photos["mirror"]), "--gallery", g, "--threshold", "0.05")
    face = strict["faces"][0]
    assert face["identity"] == "unknown" and not face["known"]
    assert face["matches"][0]["person"] == "eileen" and face["distance"] > 0.05  # open set, distance shown

    assert main(["gallery", "identify", str(photos["mirror"]), "--gallery", g, "--threshold", "0.05"]) == 0
    text = capsys.readouterr().out
    assert "unknown (nearest eileen at" in text and "> 0.050" in text

    assert main(["gallery", "remove", "eileen", "--gallery", g]) == 0
    assert "removed 'eileen' (1 face(s))" in capsys.readouterr().out
    assert cli_json(capsys, "gallery", "list", "--gallery", g)["persons"] == {}
    assert main(["gallery", "remove", "eileen", "--gallery", g]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "'eileen': no such person" in err


def test_enrolment_needs_exactly_one_face(tmp_path, photos, capsys):
    g = str(tmp_path / "people.sqlite")
    assert main(["gallery", "enroll", "eileen", str(photos["astronaut"]), str(photos["coffee"]), "--gallery", g]) == 2
    assert "coffee.png: no face found" in capsys.readouterr().err
    assert main(["gallery", "enroll", "eileen", str(photos["pair"]), "--gallery", g]) == 2
    assert "2 faces found" in capsys.readouterr().err
    assert cli_json(capsys, "gallery", "list", "--gallery", g)["persons"] == {}  # nothing half-enrolled
    assert cli_json(capsys, "gallery", "enroll", "eileen", str(photos["pair"]), "--largest",
                    "--gallery", g)["added"] == 1


def test_every_face_of_an_image_is_identified(tmp_path, photos):
    with Gallery.open(tmp_path / "people.sqlite") as g:
        g.enroll_images("eileen", [photos["astronaut"]], embed_faces)
        out = identify_media(photos["pair"], g, top_k=2)
    assert [f["identity"] for f in out["faces"]] == ["eileen", "eileen"]
    assert out["persons"] == 1 and out["frames_analyzed"] == 1
    assert abs(out["faces"][0]["bbox"][0] - out["faces"][1]["bbox"][0]) > 300  # two different places


def test_video_track_identified_once_on_its_sharpest_frame(tmp_path, photos, astronaut_video, capsys):
    g = str(tmp_path / "people.sqlite")
    cli_json(capsys, "gallery", "enroll", "eileen", str(photos["mirror"]), "--gallery", g)
    out = cli_json(capsys, "gallery", "identify", str(astronaut_video), "--gallery", g, "--every", "4",
                   "--no-progress")
    assert out["kind"] == "video" and out["frames_analyzed"] == 10
    assert len(out["faces"]) == 1
    face = out["faces"][0]
    assert face["identity"] == "eileen" and face["frames"] == 10 and face["frame"] % 4 == 0


def test_default_gallery_lives_under_faceqa_home(tmp_path, photos, capsys, monkeypatch):
    monkeypatch.setenv("FACEQA_HOME", str(tmp_path / "home"))
    cli_json(capsys, "gallery", "enroll", "eileen", str(photos["astronaut"]))
    assert (tmp_path / "home" / "gallery.sqlite").is_file()
    assert cli_json(capsys, "gallery", "list")["persons"] == {"eileen": 1}


def test_milvus_lite_gallery_answers_like_sqlite(tmp_path, photos, capsys):
    answers = []
    for uri in (tmp_path / "g.sqlite", tmp_path / "g.milvus.db"):
        cli_json(capsys, "gallery", "enroll", "eileen", str(photos["astronaut"]), "--gallery", str(uri))
        face = cli_json(capsys, "gallery", "identify", str(photos["mirror"]), "--gallery", str(uri))["faces"][0]
        answers.append((face["identity"], round(face["distance"], 4)))
    assert answers[0] == answers[1] and answers[0][0] == "eileen"


def test_bad_inputs_are_one_line_errors(tmp_path, photos, capsys):
    g = str(tmp_path / "people.sqlite")
    for argv in (["gallery", "identify", str(tmp_path / "missing.jpg"), "--gallery", g],
                 ["gallery", "identify", str(photos["coffee"]), "--gallery", g],
                 ["gallery", "identify", str(photos["mirror"]), "--gallery", g, "--top", "0"],
                 ["gallery", "list", "--gallery", str(tmp_path / "gallery.txt")],
                 ["gallery", "enroll", "unknown", str(photos["astronaut"]), "--gallery", g]):
        assert main(argv) == 2, argv
        err = capsys.readouterr().err.strip()
        assert err.startswith("faceqa: error: ") and "\n" not in err


def test_gallery_keeps_one_model_and_reembeds(tmp_path, photos, capsys):
    import shutil

    g = str(tmp_path / "dlib.sqlite")
    cli_json(capsys, "gallery", "enroll", "eileen", str(photos["astronaut"]), "--gallery", g, "--model", "dlib")
    assert cli_json(capsys, "gallery", "list", "--gallery", g)["model"] == "dlib"
    assert main(["gallery", "identify", str(photos["mirror"]), "--gallery", g]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "made by 'dlib'" in err and "faceqa gallery reembed" in err
    out = cli_json(capsys, "gallery", "reembed", "--gallery", g)
    assert (out["from"], out["model"], out["vectors"], out["threshold"]) == ("dlib", "sface", 1, 1.10)
    found = cli_json(capsys, "gallery", "identify", str(photos["mirror"]), "--gallery", g)
    assert found["threshold"] == 1.10 and found["faces"][0]["identity"] == "eileen"

    gone = tmp_path / "gone.png"
    shutil.copy(photos["astronaut"], gone)
    lost = str(tmp_path / "lost.sqlite")
    cli_json(capsys, "gallery", "enroll", "ada", str(gone), "--gallery", lost)
    gone.unlink()
    assert main(["gallery", "reembed", "--gallery", lost, "--model", "dlib"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "cannot re-embed ada" in err and "enrol" in err
    assert cli_json(capsys, "gallery", "list", "--gallery", lost)["model"] == "sface"  # nothing changed
