"""Leave-one-identity-out scoring of the twin head: the decision rule, the folds, the calibration."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from faceqa.errors import InvalidInputError
from faceqa.perception.twin import NAMES, twin_aware_same
from faceqa.perception.twin_eval import (
    Fold,
    TwinFeatures,
    calibrate_scale,
    leave_one_identity_out,
    mirror_twin_labels,
    summarise,
    twin_features,
)


def test_twin_aware_same_only_vetoes_what_sface_accepts():
    d, ratio = np.array([0.2, 0.2, 1.0, 1.2]), np.array([2.0, 0.5, 2.0, 0.5])
    assert twin_aware_same(d, ratio, 1.1).tolist() == [False, True, False, False]
    assert twin_aware_same(d, ratio, 1.1, sface_floor=0.9).tolist() == [True, True, False, False]
    assert twin_aware_same(d, ratio, 1.1, scale=3.0).tolist() == [True, True, True, False]


def test_mirror_twin_labels():
    y, twins = mirror_twin_labels(["b", "a", "b"])
    assert y == [1, 0, 1, 3, 2, 3] and twins == {0: 2, 1: 3}


def test_summarise_and_calibrate():
    fold = Fold("x", 1.0, np.array([[0.3, 2.0], [0.3, 0.5]]), np.array([[0.8, 0.5], [0.9, 1.5]]),
                np.array([[1.0, 0.8, 0.5], [0.0, 1.3, 0.1], [1.0, 0.9, 1.5]]))
    s = summarise([fold], 1.1)
    assert s["mirror_separated_sface"] == 0.0 and s["mirror_separated_twin_aware"] == 0.5
    assert s["genuine_kept_sface"] == 1.0 and s["genuine_kept_twin_aware"] == 0.5
    assert s["accuracy_sface"] == 1.0 and s["accuracy_twin_aware"] == pytest.approx(2 / 3, abs=1e-4)
    assert calibrate_scale([fold], keep=1.0) == 1.5
    assert summarise([fold], 1.1, scale=1.5)["accuracy_twin_aware"] == 1.0
    with pytest.raises(InvalidInputError, match="genuine"):
        calibrate_scale([Fold("y", 1.0, np.zeros((1, 2)), np.zeros((0, 2)))])


def test_leave_one_identity_out_on_random_features(one_thread):
    gen = torch.Generator().manual_seed(0)
    labels = ["a"] * 3 + ["b"] * 3 + ["c"] * 2
    n = len(labels)
    pooled = [torch.randn(2 * n, len(NAMES), c, generator=gen) for c in (256, 512, 1024)]
    sface = np.random.default_rng(0).normal(size=(2 * n, 128)).astype(np.float32)
    feats = TwinFeatures(pooled, torch.randn(2 * n, 1024, generator=gen), sface, labels, [str(i) for i in range(n)])
    seen = []
    folds = leave_one_identity_out(feats, [(0, 1, True), (0, 3, False), (3, 4, True)], steps=2,
                                   identities=["a", "c"], log=seen.append)
    assert [f.identity for f in folds] == ["a", "c"] and seen == folds
    a, c = folds
    assert a.mirror.shape == (3, 2) and a.genuine.shape == (3, 2) and a.pairs.shape == (2, 3)
    assert c.mirror.shape == (2, 2) and c.genuine.shape == (1, 2) and c.pairs.shape == (0, 3)
    assert np.allclose(a.mirror[:, 0], np.linalg.norm(sface[:3] - sface[n:n + 3], axis=1))
    assert summarise(folds, 1.1)["faces"] == 5


def test_twin_features_add_each_face_mirror(astronaut, one_thread):
    from faceqa.perception.detection import largest_face
    from faceqa.perception.twin import crop_and_boxes

    crop, boxes = crop_and_boxes(astronaut, largest_face(astronaut))
    feats = twin_features(crop[None], boxes[None], ["a"], ["astronaut"])
    assert len(feats) == 1 and feats.sface.shape == (2, 128) and feats.glob.shape == (2, 1024)
    assert [p.shape for p in feats.pooled] == [(2, len(NAMES), c) for c in (256, 512, 1024)]
    assert np.linalg.norm(feats.sface[0] - feats.sface[1]) < 1.1  # the same person to SFace
    with pytest.raises(InvalidInputError, match="differ in length"):
        twin_features(crop[None], boxes[None], ["a", "b"], ["x"])
