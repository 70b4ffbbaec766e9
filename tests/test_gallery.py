"""The Gallery API: enrol, open-set identify, list, remove, and the image-level entry points."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from faceqa.errors import InvalidInputError, MediaNotFoundError, NoFaceError
from faceqa.gallery import DEFAULT_THRESHOLD, UNKNOWN, Gallery, MilvusStore, SQLiteStore
from faceqa.gallery.store import DIM


def unit(seed: int) -> np.ndarray:
    """A random unit 128-D float32 vector."""
    v = np.random.default_rng(seed).standard_normal(DIM)
    return (v / np.linalg.norm(v)).astype(np.float32)


def at_distance(base: np.ndarray, distance: float, seed: int) -> np.ndarray:
    """A vector exactly ``distance`` away from ``base``, in a random direction."""
    step = unit(seed)
    return (base + distance * step).astype(np.float32)


@pytest.fixture
def gallery(tmp_path: Path):
    """An empty SQLite gallery of dlib vectors (threshold 0.6, the scale the synthetic distances here use)."""
    g = Gallery(SQLiteStore(tmp_path / "gallery.sqlite"), model="dlib")
    yield g
    g.close()


def test_identify_ranks_persons_by_closest_vector(gallery: Gallery) -> None:
    q = unit(0)
    # "near_once" has one vector at 0.3 and two far ones; "mostly_near" has three at 0.4.
    gallery.enroll("near_once", [at_distance(q, 0.3, 1), at_distance(q, 1.5, 2), at_distance(q, 1.6, 3)],
                   ["n1.jpg", "n2.jpg", "n3.jpg"])
    gallery.enroll("mostly_near", [at_distance(q, 0.4, s) for s in (4, 5, 6)], ["m1.jpg", "m2.jpg", "m3.jpg"])
    gallery.enroll("far", [at_distance(q, 1.0, 7)], ["f.jpg"])
    result = gallery.identify(q, top_k=3)
    assert [m.person for m in result.matches] == ["near_once", "mostly_near", "far"]
    assert result.matches[0].source == "n1.jpg"
    np.testing.assert_allclose([m.distance for m in result.matches], [0.3, 0.4, 1.0], atol=1e-5)
    assert [m.known for m in result.matches] == [True, True, False]
    assert result.identity == "near_once" and result.label == "near_once"
    assert result.distance == pytest.approx(0.3, abs=1e-5)


def test_top_k_distinct_persons_despite_a_crowded_neighbour(gallery: Gallery) -> None:
    q = unit(10)
    gallery.enroll("crowd", [at_distance(q, 0.1 + 0.001 * i, 100 + i) for i in range(60)])
    for i, name in enumerate(["b", "c", "d"]):
        gallery.enroll(name, [at_distance(q, 0.5 + 0.1 * i, 200 + i)])
    result = gallery.identify(q, top_k=3)
    assert [m.person for m in result.matches] == ["crowd", "b", "c"]
    assert len(gallery.identify(q, top_k=10).matches) == 4  # every person, once


def test_open_set_unknown_below_threshold(gallery: Gallery) -> None:
    q = unit(20)
    gallery.enroll("ada", [at_distance(q, 0.8, 21)], ["ada.jpg"])
    result = gallery.identify(q)
    assert result.identity is None and result.label == UNKNOWN
    assert result.threshold == 0.6
    assert result.matches[0].person == "ada" and not result.matches[0].known  # still shown, with distance
    assert gallery.identify(q, threshold=0.9).identity == "ada"
    assert Gallery(gallery.store, threshold=0.85, model="dlib").identify(q).identity == "ada"


def test_threshold_is_inclusive(gallery: Gallery) -> None:
    q = unit(22)
    gallery.enroll("ada", [q])
    assert gallery.identify(q, threshold=0.0).identity == "ada"


def test_empty_gallery_answers_unknown(gallery: Gallery) -> None:
    result = gallery.identify(unit(30))
    assert result.matches == [] and result.label == UNKNOWN and result.distance is None


def test_result_is_json_ready(gallery: Gallery) -> None:
    gallery.enroll("ada", [unit(40)], ["ada.jpg"])
    data = json.loads(json.dumps(gallery.identify(unit(40)).to_dict()))
    assert data["identity"] == "ada" and data["known"] is True
    assert data["matches"][0] == {"person": "ada", "distance": pytest.approx(0.0, abs=1e-6),
                                  "source": "ada.jpg", "known": True}


def test_list_and_remove(gallery: Gallery) -> None:
    gallery.enroll("bob", np.stack([unit(50), unit(51)]))
    gallery.enroll("ada", unit(52))
    gallery.enroll("bob", unit(53))
    assert gallery.list() == {"ada": 1, "bob": 3}
    assert gallery.remove("bob") == 3
    assert gallery.list() == {"ada": 1}
    with pytest.raises(InvalidInputError, match="no such person"):
        gallery.remove("bob")


@pytest.mark.parametrize("name", ["unknown", "Unknown", " ada", "ada ", "", "a\tb"])
def test_enroll_rejects_bad_names(gallery: Gallery, name: str) -> None:
    with pytest.raises(InvalidInputError):
        gallery.enroll(name, unit(60))
    assert gallery.list() == {}


@pytest.mark.parametrize(("top_k", "threshold"), [(0, None), (-1, None), (1.5, None), (1, -0.1),
                                                    (1, float("nan")), (1, "0.6")])
def test_identify_rejects_bad_arguments(gallery: Gallery, top_k, threshold) -> None:
    with pytest.raises(InvalidInputError):
        gallery.identify(unit(61), top_k=top_k, threshold=threshold)


def test_gallery_refuses_other_dims(tmp_path: Path) -> None:
    with pytest.raises(InvalidInputError, match="128-D"):
        Gallery(SQLiteStore(tmp_path / "g.sqlite", dim=64))


# ---- image-level entry points, with a stand-in embedding function --------------------------

@pytest.fixture
def images(tmp_path: Path) -> dict[str, Path]:
    """Empty files standing for images; the fake embedder keys on their names."""
    paths = {}
    for name in ["ada1", "ada2", "bob1", "group", "blank", "weird"]:
        paths[name] = tmp_path / f"{name}.jpg"
        paths[name].write_bytes(b"")
    return paths


FACES = {"ada1": [unit(70)], "ada2": [unit(71)], "bob1": [unit(72)], "group": [unit(70), unit(72)],
         "blank": [], "weird": [np.zeros((2, DIM), np.float32)]}


def fake_embed(path: Path) -> list[np.ndarray]:
    """One vector per 'face' in the stand-in image."""
    return FACES[path.stem]


def test_enroll_and_identify_images(gallery: Gallery, images: dict[str, Path]) -> None:
    ids = gallery.enroll_images("ada", [images["ada1"], str(images["ada2"])], fake_embed)
    gallery.enroll_images("bob", [images["bob1"]], fake_embed)
    assert len(ids) == 2 and gallery.list() == {"ada": 2, "bob": 1}
    results = gallery.identify_image(images["group"], fake_embed, top_k=2)
    assert [r.label for r in results] == ["ada", "bob"]
    assert results[0].matches[0].source == str(images["ada1"])


@pytest.mark.parametrize(("bad", "error"), [("blank", NoFaceError), ("group", InvalidInputError),
                                            ("weird", InvalidInputError), ("missing", MediaNotFoundError)])
def test_enroll_images_is_all_or_nothing(gallery: Gallery, images: dict[str, Path], bad: str, error) -> None:
    paths = [images["ada1"], images.get(bad, images["ada1"].with_name("missing.jpg"))]
    with pytest.raises(error):
        gallery.enroll_images("ada", paths, fake_embed)
    assert gallery.list() == {}


def test_enroll_images_needs_images(gallery: Gallery) -> None:
    with pytest.raises(InvalidInputError, match="no images"):
        gallery.enroll_images("ada", [], fake_embed)


def test_identify_image_without_a_face(gallery: Gallery, images: dict[str, Path]) -> None:
    with pytest.raises(NoFaceError, match="blank.jpg"):
        gallery.identify_image(images["blank"], fake_embed)
    with pytest.raises(MediaNotFoundError):
        gallery.identify_image(images["blank"].with_name("nope.jpg"), fake_embed)


# ---- opening by URI, and the same answers from both backends -------------------------------

def test_open_default_under_faceqa_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FACEQA_HOME", str(tmp_path))
    with Gallery.open(threshold=0.5) as g:
        g.enroll("ada", unit(80))
        assert g.location == str(tmp_path / "gallery.sqlite") and g.threshold == 0.5
    with Gallery.open(tmp_path / "gallery.sqlite") as g:
        assert g.list() == {"ada": 1}


def test_backends_give_identical_identifications(tmp_path: Path) -> None:
    rng = np.random.default_rng(90)
    centres = np.stack([unit(1000 + i) for i in range(30)])
    galleries = [Gallery.open(tmp_path / "g.sqlite"), Gallery.open(tmp_path / "g.milvus.db")]
    assert isinstance(galleries[1].store, MilvusStore)
    try:
        for i, centre in enumerate(centres):
            vectors = centre + 0.02 * rng.standard_normal((4, DIM)).astype(np.float32)
            for g in galleries:
                g.enroll(f"person{i:02d}", vectors, [f"{i}-{j}.jpg" for j in range(4)])
        queries = [centres[i] + 0.02 * rng.standard_normal(DIM).astype(np.float32) for i in range(30)]
        queries += [unit(2000 + i) for i in range(5)]  # strangers
        for q in queries:
            a, b = (g.identify(q, top_k=5) for g in galleries)
            assert a.label == b.label
            assert [(m.person, m.source, m.known) for m in a.matches] == \
                   [(m.person, m.source, m.known) for m in b.matches]
            np.testing.assert_allclose([m.distance for m in a.matches], [m.distance for m in b.matches],
                                       atol=1e-5)
        assert sum(g.identify(q).label == UNKNOWN for q in queries[30:]) == 5
        assert [galleries[0].identify(q).label for q in queries[:30]] == [f"person{i:02d}" for i in range(30)]
    finally:
        for g in galleries:
            g.close()


def test_legacy_gallery_is_dlib_and_refuses_sface(tmp_path: Path) -> None:
    from faceqa.errors import GalleryModelError

    store = SQLiteStore(tmp_path / "old.sqlite")
    store.add("ada", [unit(1)], ["ada.jpg"])  # written before galleries recorded their model
    old = Gallery(store)
    assert old.recorded_model == "dlib" and old.threshold == 0.6
    assert old.list() == {"ada": 1}  # listing needs no model
    with pytest.raises(GalleryModelError, match="made by 'dlib'.*faceqa gallery reembed"):
        old.identify(unit(1))
    with pytest.raises(GalleryModelError):
        old.enroll("bob", [unit(2)])
    assert Gallery(store, model="dlib").identify(unit(1)).label == "ada"
    new = Gallery(SQLiteStore(tmp_path / "new.sqlite"))
    assert new.recorded_model == "sface" and new.threshold == DEFAULT_THRESHOLD
    assert new.store.get_meta("model") == "sface" and float(new.store.get_meta("threshold")) == DEFAULT_THRESHOLD
    store.close()
    new.close()
