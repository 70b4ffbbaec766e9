"""The twin-aware head: mesh regions and their mirror, a tiny training with mirrors as twins, the CLI."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from PIL import Image

from faceqa.cli.main import main
from faceqa.perception.detection import largest_face
from faceqa.perception.identity import SFACE_THRESHOLD, distance, get_embedder
from faceqa.perception.twin import (
    NAMES,
    PAIRS,
    REGIONS,
    crop_and_boxes,
    mirror,
    pooled_features,
    save_head,
    train_twin_head,
    twin_embeddings,
)


@pytest.fixture(scope="module")
def astronaut_crop(astronaut):
    return crop_and_boxes(astronaut, largest_face(astronaut))


def test_regions_are_mirror_pairs(astronaut_crop):
    crop, boxes = astronaut_crop
    assert boxes.shape == (len(NAMES), 4) and crop.shape == (112, 112, 3)
    for right, left in PAIRS:
        assert len(REGIONS[right]) == len(REGIONS[left])
        r, le = boxes[NAMES.index(right)], boxes[NAMES.index(left)]
        # the aligned crop is near-frontal: each right region mirrors onto its left partner
        assert abs((r[0] + r[2]) / 2 + (le[0] + le[2]) / 2 - 111) < 12, right
        assert abs((r[1] + r[3]) / 2 - (le[1] + le[3]) / 2) < 8, right
    back, again = mirror(*mirror(crop, boxes))
    assert np.array_equal(back, crop) and np.allclose(again, boxes)


def test_features_are_differentiable(astronaut_crop):
    crop, boxes = astronaut_crop
    x = torch.from_numpy(crop[None]).float().requires_grad_(True)
    pooled, glob = pooled_features(x, boxes[None])
    assert [p.shape for p in pooled] == [(1, len(NAMES), c) for c in (256, 512, 1024)] and glob.shape == (1, 1024)
    pooled[1].sum().backward()
    assert x.grad.abs().sum() > 0


@pytest.mark.realdata
def test_mirror_twins_are_told_apart(shared_data, deepface_crops, tmp_path, one_thread, capsys):
    """SFace cannot tell a face from its mirror; a head trained with mirrors as twins does."""
    import csv

    with open(shared_data / "faces/deepface/identities_derived.csv", newline="") as fh:
        rows = [(r["file"], r["identity_cluster"]) for r in csv.DictReader(fh)]
    by_id: dict[str, list[str]] = {}
    for f, c in rows:
        by_id.setdefault(c, []).append(f)
    picked = [(f, i) for i, (_, files) in enumerate(sorted(by_id.items())[:3]) for f in files[:2]]
    crops = [deepface_crops[f][0] for f, _ in picked]
    boxes = [deepface_crops[f][1] for f, _ in picked]
    mirrored = [mirror(c, b) for c, b in zip(crops, boxes, strict=True)]
    all_crops = np.stack(crops + [m[0] for m in mirrored])
    all_boxes = np.stack(boxes + [m[1] for m in mirrored])
    labels = [i for _, i in picked] + [i + 3 for _, i in picked]
    sface = get_embedder("sface").embed_crops(all_crops)
    n = len(picked)
    sface_mirror = [distance(sface[k], sface[k + n]) for k in range(n)]
    assert max(sface_mirror) < SFACE_THRESHOLD  # the same person to SFace

    with torch.no_grad():
        pooled, glob = pooled_features(all_crops, all_boxes)
    head, report = train_twin_head(pooled, glob, labels, {i: i + 3 for i in range(3)}, steps=20)
    assert report.losses[-1] < report.losses[0]
    z = twin_embeddings(all_crops, all_boxes, head)
    twin = np.array([distance(z[k], z[k + n]) for k in range(n)])
    same = np.array([distance(z[a], z[b]) for a in range(n) for b in range(a + 1, n) if labels[a] == labels[b]])
    with capsys.disabled():
        print(f"\nface vs its mirror: SFace distance median {np.median(sface_mirror):.3f} (threshold "
              f"{SFACE_THRESHOLD}); twin head distance median {np.median(twin):.3f}, same person median "
              f"{np.median(same):.3f}, head threshold {report.threshold:.3f}")
    assert np.mean(twin > report.threshold) >= 0.75 and np.all(same <= report.threshold)

    path = save_head(head, report.threshold, tmp_path / "head.pt")
    a, b = shared_data / "faces/deepface/images" / picked[0][0], tmp_path / "mirror.png"
    Image.open(a).convert("RGB").transpose(Image.Transpose.FLIP_LEFT_RIGHT).save(b)
    assert main(["verify", str(a), str(b), "--twin-aware", "--twin-head", str(path), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["sface_same"] is True and {"twin_distance", "twin_threshold"} <= set(out)


def test_twin_aware_without_a_head_is_one_line(astronaut, tmp_path, capsys):
    Image.fromarray(astronaut).save(tmp_path / "a.png")
    argv = ["verify", str(tmp_path / "a.png"), str(tmp_path / "a.png"), "--twin-aware"]
    assert main([*argv, "--twin-head", str(tmp_path / "none.pt")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "none.pt" in err and "train_twin_head" in err
    assert main([*argv, "--model", "dlib"]) == 2
    assert "SFace" in capsys.readouterr().err


@pytest.mark.realdata
def test_verify_twin_aware_finds_the_shipped_head(shared_data, tmp_path, monkeypatch, capsys):
    """Without --twin-head and without $FACEQA_HOME/twin_head.pt, the shipped head (< 1 MB) is used."""
    from faceqa.perception.twin import HEAD_FILE, default_head_path, load_head, new_head
    from faceqa.resources import packaged

    monkeypatch.setenv("FACEQA_HOME", str(tmp_path))
    shipped = packaged("twin_head") / HEAD_FILE
    assert default_head_path() == shipped and 0 < shipped.stat().st_size < 1_000_000
    load_head()  # a valid head file
    images = shared_data / "faces/deepface/images"
    same, other = [str(images / n) for n in ("img1.jpg", "img2.jpg")], str(images / "img3.jpg")
    assert main(["verify", *same, "--twin-aware", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["sface_same"] is True and out["same"] is True and out["twin_threshold"] > 0
    assert main(["verify", same[0], other, "--twin-aware"]) == 0
    assert capsys.readouterr().out.startswith("different people")
    save_head(new_head(), 0.5, tmp_path / HEAD_FILE)  # a head in $FACEQA_HOME overrides the shipped one
    assert default_head_path() == tmp_path / HEAD_FILE
