"""Identity embeddings, 1:1 verification and the ``faceqa verify`` command."""

from __future__ import annotations

import csv
import json

import cv2
import numpy as np
import pytest
from PIL import Image
from skimage import data

from faceqa.cli.main import main
from faceqa.errors import InvalidInputError, MediaNotFoundError, NoFaceError
from faceqa.perception.detection import largest_face
from faceqa.perception.identity import (
    DEFAULT_THRESHOLD,
    FaceEmbedder,
    distance,
    embed_largest_face,
    verify,
)


@pytest.fixture(scope="module")
def embedder():
    return FaceEmbedder()


@pytest.fixture(scope="module")
def astronaut_embedding(astronaut, embedder):
    return embedder.embed(astronaut, largest_face(astronaut).bbox)


def test_embedding_shape_and_batch(astronaut, embedder, astronaut_embedding):
    assert astronaut_embedding.shape == (128,) and astronaut_embedding.dtype == np.float32
    box = largest_face(astronaut).bbox
    many = embedder.embed_many(astronaut, [box, box])
    assert many.shape == (2, 128)
    assert np.allclose(many[0], astronaut_embedding, atol=1e-5)
    assert embedder.embed_many(astronaut, []).shape == (0, 128)


def test_flipped_and_resized_astronaut_is_same(astronaut):
    flipped = verify(astronaut, np.ascontiguousarray(astronaut[:, ::-1]))
    small = verify(astronaut, cv2.resize(astronaut, (256, 256), interpolation=cv2.INTER_AREA))
    for r in (flipped, small):
        assert r["same"] is True and r["distance"] < 0.3 and r["threshold"] == DEFAULT_THRESHOLD


def test_threshold_decides(astronaut):
    flipped = np.ascontiguousarray(astronaut[:, ::-1])
    d = verify(astronaut, flipped)["distance"]
    assert verify(astronaut, flipped, threshold=d / 2) == {"same": False, "distance": d, "threshold": d / 2}
    with pytest.raises(InvalidInputError, match="threshold"):
        verify(astronaut, flipped, threshold=-1)


@pytest.mark.parametrize("blank", [np.full((300, 300, 3), 128, np.uint8), data.coffee()],
                         ids=["gray", "coffee"])
def test_no_face_names_the_image(astronaut, blank):
    with pytest.raises(NoFaceError, match="image_b"):
        verify(astronaut, blank)


def test_missing_file_names_the_path(astronaut, tmp_path):
    with pytest.raises(MediaNotFoundError, match="missing.jpg"):
        verify(tmp_path / "missing.jpg", astronaut)


def test_bad_box_raises(astronaut, embedder):
    with pytest.raises(InvalidInputError, match="bbox"):
        embedder.embed(astronaut, (10, 10, 5, 5))


def test_cli_verify_json_and_text(astronaut, tmp_path, capsys):
    a, b = tmp_path / "a.png", tmp_path / "b.png"
    Image.fromarray(astronaut).save(a)
    Image.fromarray(np.ascontiguousarray(astronaut[:, ::-1])).save(b)
    assert main(["verify", str(a), str(b), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert set(out) == {"same", "distance", "threshold"}
    assert out["same"] is True and out["threshold"] == DEFAULT_THRESHOLD
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
def test_astronaut_differs_from_every_deepface_identity(shared_data, astronaut_embedding):
    with open(_deepface(shared_data) / "identities_derived.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    first = {}
    for r in rows:
        first.setdefault(r["identity_cluster"], r["file"])
    assert len(first) >= 10
    for name in first.values():
        e = embed_largest_face(_deepface(shared_data) / "images" / name)
        assert distance(e, astronaut_embedding) > DEFAULT_THRESHOLD, name


@pytest.mark.realdata
@pytest.mark.slow
def test_verification_accuracy_on_pivot_pairs(shared_data):
    folder = _deepface(shared_data)
    with open(folder / "face-recognition-pivot.csv", newline="") as fh:
        pairs = [(r["file_x"].rsplit("/", 1)[-1], r["file_y"].rsplit("/", 1)[-1], r["decision"] == "Yes")
                 for r in csv.DictReader(fh)]
    assert len(pairs) == 280
    names = sorted({n for a, b, _ in pairs for n in (a, b)})
    emb = {n: embed_largest_face(folder / "images" / n) for n in names}
    dist = np.array([distance(emb[a], emb[b]) for a, b, _ in pairs])
    same = np.array([s for _, _, s in pairs])
    assert np.mean((dist <= DEFAULT_THRESHOLD) == same) >= 0.97
    assert dist[same].mean() < 0.5 < dist[~same].mean()
