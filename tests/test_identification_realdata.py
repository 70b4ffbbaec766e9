"""Identification on the deepface identity clusters (61 real photos, 13 persons), through the Gallery API."""

from __future__ import annotations

import csv

import numpy as np
import pytest

from faceqa.gallery.evaluate import leave_one_identity_out, leave_one_image_out
from faceqa.perception.calibration import pairs_from_labels, verification_report
from faceqa.perception.identity import DEFAULT_THRESHOLD

pytestmark = pytest.mark.realdata


@pytest.fixture(scope="module")
def clusters(shared_data, deepface_sface):
    """(embeddings, labels, files) of every image of identities_derived.csv, largest face each (SFace)."""
    with open(shared_data / "faces/deepface/identities_derived.csv", newline="") as fh:
        rows = [(r["file"], r["identity_cluster"]) for r in csv.DictReader(fh)]
    vectors = np.stack([deepface_sface[f] for f, _ in rows])
    return vectors, [c for _, c in rows], [f for f, _ in rows]


def test_leave_one_image_out_rank1(clusters):
    vectors, labels, files = clusters
    assert len(files) == 61 and len(set(labels)) == 13
    result = leave_one_image_out(vectors, labels, files)
    assert result["queries"] == 61
    assert result["rank1"] >= 0.95, result["errors"]
    assert result["rank1_accepted"] >= 0.9


def test_unknown_persons_are_mostly_rejected(clusters):
    result = leave_one_identity_out(*clusters)
    assert result["queries"] == 61 and result["unknown_rate"] >= 0.8


def test_verification_on_cluster_pairs(clusters):
    vectors, labels, _ = clusters
    report = verification_report(*pairs_from_labels(vectors, labels), DEFAULT_THRESHOLD)
    assert report["pairs"] == 61 * 60 // 2
    assert report["roc_auc"] > 0.99 and report["eer"] < 0.03 and report["accuracy"] > 0.98
