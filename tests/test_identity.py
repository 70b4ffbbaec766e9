"""Identity embeddings (SFace default, dlib by name), 1:1 verification and the ``faceqa verify`` command."""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest
from PIL import Image
from skimage import data

from faceqa.cli.main import main
from faceqa.errors import InvalidInputError, MediaNotFoundError, NoFaceError
from faceqa.perception.detection import largest_face
from faceqa.perception.identity import (
    DEFAULT_MODEL,
    DEFAULT_THRESHOLD,
    DLIB_THRESHOLD,
    distance,
    get_embedder,
    verify,
)
from faceqa.perception.sface import TEMPLATE_112, alignment_matrix, five_points


@pytest.fixture(scope="module")
def face(astronaut):
    return largest_face(astronaut)


@pytest.fixture(scope="module")
def astronaut_embedding(astronaut, face):
    return get_embedder().embed(astronaut, face)


@pytest.fixture(scope="module")
def flipped(astronaut):
    return np.ascontiguousarray(astronaut[:, ::-1])


def test_default_is_sface_and_dlib_is_selectable():
    assert DEFAULT_MODEL == "sface" and get_embedder().threshold == DEFAULT_THRESHOLD == 1.10
    assert get_embedder("dlib").threshold == DLIB_THRESHOLD == 0.6
    with pytest.raises(InvalidInputError, match="'arcface'"):
        get_embedder("arcface")


def test_embedding_is_unit_and_batched(astronaut, face, astronaut_embedding):
    assert astronaut_embedding.shape == (128,) and astronaut_embedding.dtype == np.float32
    assert abs(float(np.linalg.norm(astronaut_embedding)) - 1) < 1e-5
    embedder = get_embedder()
    crops = embedder.crops(astronaut, [face, face.bbox])
    assert crops.shape == (2, 112, 112, 3) and crops.dtype == np.uint8
    many = embedder.embed_crops(crops)
    assert many.shape == (2, 128) and np.allclose(many[0], astronaut_embedding, atol=1e-5)
    assert distance(many[0], many[1]) < 0.3  # a bare box re-fits the mesh to the same alignment
    assert embedder.embed_many(astronaut, []).shape == (0, 128)


def test_mesh_points_land_on_the_template(astronaut, face):
    lm = get_embedder().landmarks(astronaut, face)
    pts = five_points(lm)
    m = alignment_matrix(pts)
    mapped = pts @ m[:, :2].T + m[:, 2]
    assert np.abs(mapped - TEMPLATE_112).max() < 6  # pixels of the 112x112 crop


def test_flipped_astronaut_is_same_and_threshold_decides(astronaut, flipped):
    r = verify(astronaut, flipped)
    assert r["same"] is True and r["model"] == "sface" and r["threshold"] == DEFAULT_THRESHOLD
    d = r["distance"]
    assert d < 0.8
    assert verify(astronaut, flipped, threshold=d / 2) == {"same": False, "distance": d, "threshold": d / 2,
                                                           "model": "sface"}
    with pytest.raises(InvalidInputError, match="threshold"):
        verify(astronaut, flipped, threshold=-1)


def test_dlib_by_name(astronaut, flipped):
    r = verify(astronaut, flipped, model="dlib")
    assert r["same"] is True and r["distance"] < 0.3 and r["threshold"] == DLIB_THRESHOLD and r["model"] == "dlib"


@pytest.mark.parametrize("blank", [np.full((300, 300, 3), 128, np.uint8), data.coffee()],
                         ids=["gray", "coffee"])
def test_no_face_names_the_image(astronaut, blank):
    with pytest.raises(NoFaceError, match="image_b"):
        verify(astronaut, blank)


def test_missing_file_names_the_path(astronaut, tmp_path):
    with pytest.raises(MediaNotFoundError, match="missing.jpg"):
        verify(tmp_path / "missing.jpg", astronaut)


@pytest.mark.parametrize("model", ["sface", "dlib"])
def test_bad_box_raises(astronaut, model):
    with pytest.raises(InvalidInputError, match="bbox"):
        get_embedder(model).embed(astronaut, (10, 10, 5, 5))


def test_cli_verify_json_and_text(astronaut, flipped, tmp_path, capsys):
    a, b = tmp_path / "a.png", tmp_path / "b.png"
    Image.fromarray(astronaut).save(a)
    Image.fromarray(flipped).save(b)
    assert main(["verify", str(a), str(b), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert set(out) == {"same", "distance", "threshold", "model"}
    assert out["same"] is True and out["threshold"] == DEFAULT_THRESHOLD and out["model"] == "sface"
    assert main(["verify", str(a), str(b), "--threshold", "0.01"]) == 0
    text = capsys.readouterr().out
    assert text.count("\n") == 1 and text.startswith("different people")


def test_cli_verify_missing_file(astronaut, tmp_path, capsys):
    Image.fromarray(astronaut).save(tmp_path / "a.png")
    assert main(["verify", str(tmp_path / "a.png"), str(tmp_path / "nope.png")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "nope.png" in err[0]


def _deepface(shared_data):
    return shared_data / "faces" / "deepface"


@pytest.mark.realdata
def test_astronaut_differs_from_every_deepface_identity(shared_data, deepface_sface, astronaut_embedding):
    with open(_deepface(shared_data) / "identities_derived.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    first = {}
    for r in rows:
        first.setdefault(r["identity_cluster"], r["file"])
    assert len(first) >= 10
    for name in first.values():
        assert distance(deepface_sface[name], astronaut_embedding) > DEFAULT_THRESHOLD, name


@pytest.mark.realdata
def test_sface_accuracy_on_pivot_pairs(shared_data, deepface_sface):
    """Acceptance: SFace at the documented threshold is right on >= 0.99 of the 280 pivot pairs."""
    with open(_deepface(shared_data) / "face-recognition-pivot.csv", newline="") as fh:
        pairs = [(r["file_x"].rsplit("/", 1)[-1], r["file_y"].rsplit("/", 1)[-1], r["decision"] == "Yes")
                 for r in csv.DictReader(fh)]
    assert len(pairs) == 280
    dist = np.array([distance(deepface_sface[a], deepface_sface[b]) for a, b, _ in pairs])
    same = np.array([s for _, _, s in pairs])
    assert np.mean((dist <= DEFAULT_THRESHOLD) == same) >= 0.99
    assert dist[same].mean() < 0.9 < 1.2 < dist[~same].mean()
