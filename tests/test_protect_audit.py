"""MAP-style protection and the FEM-style leakage audit: the pieces, and both end to end on tiny inputs."""

from __future__ import annotations

import json

import cv2
import numpy as np
import pytest
import torch

from faceqa.cli.main import main
from faceqa.errors import InvalidInputError
from faceqa.privacy.audit import FaceSet, attacked_rows, audit, dlib_on_crops, sface_on_crops, split_identities
from faceqa.privacy.kan import KANLayer
from faceqa.privacy.protect import project_conflicting


def test_projection_removes_the_conflicting_component():
    g1, g2 = torch.tensor([1.0, 0.0]), torch.tensor([-1.0, 1.0])
    p1, p2 = project_conflicting([g1, g2])
    assert float(p1 @ g2) == pytest.approx(0.0, abs=1e-6)
    assert float(p2 @ g1) == pytest.approx(0.0, abs=1e-6)
    assert torch.allclose(p1, torch.tensor([0.5, 0.5]))
    a, b = torch.tensor([1.0, 1.0]), torch.tensor([1.0, 0.0])
    q1, q2 = project_conflicting([a, b])
    assert torch.equal(q1, a) and torch.equal(q2, b)


def test_kan_layer_fits_a_known_function(one_thread):
    layer = KANLayer(1, 1, grid=10, low=-2.0, high=2.0, seed=0)
    x = torch.linspace(-2, 1.999, 100)[:, None]
    y = torch.sin(2 * x)
    opt = torch.optim.Adam(layer.parameters(), lr=0.1)
    for _ in range(60):
        opt.zero_grad()
        loss = ((layer(x) - y) ** 2).mean()
        loss.backward()
        opt.step()
    assert loss.item() < 1e-3
    assert float(layer.bases(x).sum(-1).min()) == pytest.approx(1.0, abs=1e-5)  # partition of unity


def test_protect_runs_end_to_end(tmp_path, astronaut, capsys):
    face = cv2.resize(np.ascontiguousarray(astronaut[0:360, 45:405]), (160, 160), interpolation=cv2.INTER_AREA)
    cv2.imwrite(str(tmp_path / "a.png"), face[..., ::-1])
    cv2.imwrite(str(tmp_path / "t.png"), np.ascontiguousarray(face[:, ::-1, ::-1]))
    out = tmp_path / "p.png"
    assert main(["protect", str(tmp_path / "a.png"), "--target", str(tmp_path / "t.png"), "--out", str(out),
                 "--steps", "2", "--evaluate", "--json"]) == 0
    r = json.loads(capsys.readouterr().out)
    assert out.is_file() and cv2.imread(str(out)).shape == (160, 160, 3)
    assert 1 <= r["steps"] <= 2 and r["amounts"] and all(0 <= v <= 0.6 for v in r["amounts"].values())
    e = r["evaluation"]
    assert set(e["sface"]) >= {"matches_source", "matches_target", "success"} and "dlib" in e
    assert 0.5 < e["ssim"] <= 1.0 and isinstance(e["expression_changed"], bool)


def test_attacked_rows_spread_over_each_held_out_identity():
    labels = ["a"] * 7 + ["b"] * 2 + ["c"] * 3
    held = np.array([True] * 9 + [False] * 3)
    assert attacked_rows(labels, held, None).tolist() == list(range(9))
    assert attacked_rows(labels, held, 3).tolist() == [0, 3, 6, 7, 8]
    with pytest.raises(InvalidInputError, match="attack_per_identity"):
        attacked_rows(labels, held, 0)


def test_audit_runs_end_to_end_on_a_tiny_set(astronaut):
    from faceqa.privacy.audit import crop_rgb

    base = crop_rgb(astronaut).astype(np.float32)
    crops = np.stack([np.clip(base * g + b, 0, 255).astype(np.uint8)
                      for g, b in ((1.0, 0), (0.9, 10), (1.1, -10), (0.8, 20))])
    labels = ["a", "a", "b", "b"]
    faces = FaceSet(crops, labels, dlib_on_crops(crops), sface_on_crops(crops))
    train, test = split_identities(labels, 1)
    assert test.sum() == 2 and not (train & test).any()
    r = audit(faces, held_out=1, steps=1, epochs=5, attack_per_identity=1)
    assert r["test_faces"] == 2 and r["train_faces"] == 2 and r["attacked_faces"] == 1 and r["identities"] == 2
    for kind in ("kan", "mlp"):
        assert -1.0 <= r[kind]["cosine_fidelity"] <= 1.0
        assert 0.0 <= r[kind]["attack_success_dlib"] <= 1.0


def test_the_audit_tool_reads_a_folder_of_identities(tmp_path, astronaut):
    from faceqa.tools import FaceTools, ToolPolicy

    people = tmp_path / "people"
    for person, gains in (("a", (1.0, 0.9)), ("b", (1.1, 0.8))):
        (people / person).mkdir(parents=True)
        for i, g in enumerate(gains):
            face = np.clip(astronaut[:300, 80:380].astype(np.float32) * g, 0, 255).astype(np.uint8)
            cv2.imwrite(str(people / person / f"{i}.png"), face[..., ::-1])
        (people / person / "notes.txt").write_text("not a photo")
    tools = FaceTools(ToolPolicy([tmp_path]))
    r = tools.audit_embedding_leakage(str(people), held_out=1, steps=1)
    assert r["identities"] == 2 and r["test_faces"] == 4 and r["folder"] == str(people)  # 2 photos + mirrors
    (people / "b" / "0.png").rename(people / "a" / "2.png")
    (people / "b" / "1.png").unlink()
    with pytest.raises(InvalidInputError, match="at least two identities"):
        tools.audit_embedding_leakage(str(people), held_out=1, steps=1)
