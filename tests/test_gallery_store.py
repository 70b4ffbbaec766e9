"""The gallery storage backends: one suite run against SQLite and a real Milvus Lite server."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import uuid
from pathlib import Path

import numpy as np
import pytest

from faceqa.errors import InvalidInputError
from faceqa.gallery import sqlite_store
from faceqa.gallery.milvus_store import MilvusStore
from faceqa.gallery.open import default_gallery_uri, open_store, resolve_uri
from faceqa.gallery.sqlite_store import SQLiteStore
from faceqa.gallery.store import DIM, VectorStore

REPO = Path(__file__).resolve().parents[1]
BACKENDS = ["sqlite", "milvus"]


def unit_vectors(n: int, seed: int) -> np.ndarray:
    """n random unit 128-D float32 vectors."""
    v = np.random.default_rng(seed).standard_normal((n, DIM))
    return (v / np.linalg.norm(v, axis=1, keepdims=True)).astype(np.float32)


def brute_force(vectors: np.ndarray, query: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Indices and float64 euclidean distances of the k nearest rows."""
    d = np.linalg.norm(vectors.astype(np.float64) - query.astype(np.float64), axis=1)
    order = np.argsort(d, kind="stable")[:k]
    return order, d[order]


@pytest.fixture(scope="module")
def milvus_lite_path(tmp_path_factory: pytest.TempPathFactory) -> str:
    """One Milvus Lite server for the whole module; each test gets its own collection in it."""
    return str(tmp_path_factory.mktemp("milvus") / "gallery.milvus.db")


def make_store(kind: str, tmp_path: Path, milvus_lite_path: str) -> VectorStore:
    """A fresh, empty store of the given backend."""
    if kind == "sqlite":
        return SQLiteStore(tmp_path / "gallery.sqlite")
    return MilvusStore(milvus_lite_path, collection=f"t_{uuid.uuid4().hex}")


@pytest.fixture(params=BACKENDS)
def store(request: pytest.FixtureRequest, tmp_path: Path, milvus_lite_path: str):
    """An empty store, once per backend."""
    s = make_store(request.param, tmp_path, milvus_lite_path)
    yield s
    s.close()


@pytest.fixture(scope="module", params=BACKENDS)
def empty_store(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, milvus_lite_path: str):
    """One store per backend shared by the tests that must leave it empty (bad inputs)."""
    s = make_store(request.param, tmp_path_factory.mktemp("empty"), milvus_lite_path)
    yield s
    s.close()


def enrol_people(store: VectorStore, vectors: np.ndarray, per_person: int) -> list[str]:
    """Enrol consecutive groups of ``per_person`` rows as persons p000, p001, ...; return row labels."""
    owners = []
    for start in range(0, len(vectors), per_person):
        name = f"p{start // per_person:03d}"
        chunk = vectors[start:start + per_person]
        store.add(name, chunk, [f"{name}/{i}.jpg" for i in range(len(chunk))])
        owners += [name] * len(chunk)
    return owners


# ---- the shared backend suite -------------------------------------------------------------

def test_empty_store(store: VectorStore) -> None:
    assert store.count() == 0
    assert store.persons() == {}
    assert store.search(np.zeros(DIM, np.float32), 5) == []


def test_add_counts_and_ids(store: VectorStore) -> None:
    ids = store.add("ada", unit_vectors(3, 0), ["a.jpg", "b.jpg", "c.jpg"])
    assert len(ids) == 3 and len(set(ids)) == 3 and all(isinstance(i, int) for i in ids)
    store.add("bob", unit_vectors(1, 1)[0], ["d.jpg"])  # one (128,) vector is n = 1
    store.add("ada", unit_vectors(2, 2), ["e.jpg", "f.jpg"])  # a known name gains vectors
    assert store.count() == 6
    assert store.persons() == {"ada": 5, "bob": 1}


def test_search_is_exact(store: VectorStore) -> None:
    vectors = unit_vectors(300, 3)
    owners = enrol_people(store, vectors, per_person=3)
    for query in unit_vectors(10, 4):
        hits = store.search(query, 7)
        order, dist = brute_force(vectors, query, 7)
        assert [h.person for h in hits] == [owners[i] for i in order]
        assert [h.source for h in hits] == [f"{owners[i]}/{i % 3}.jpg" for i in order]
        np.testing.assert_allclose([h.distance for h in hits], dist, atol=1e-5)


def test_search_own_vector_is_distance_zero(store: VectorStore) -> None:
    vectors = unit_vectors(20, 5)
    enrol_people(store, vectors, per_person=4)
    hit = store.search(vectors[9], 1)[0]
    assert hit.person == "p002" and hit.source == "p002/1.jpg"
    assert hit.distance == pytest.approx(0.0, abs=1e-5)


def test_k_larger_than_store_returns_all(store: VectorStore) -> None:
    store.add("ada", unit_vectors(4, 6), ["a", "b", "c", "d"])
    hits = store.search(unit_vectors(1, 7)[0], 50)
    assert len(hits) == 4
    assert [h.distance for h in hits] == sorted(h.distance for h in hits)


def test_remove(store: VectorStore) -> None:
    store.add("ada", unit_vectors(3, 8), ["a", "b", "c"])
    store.add("bob", unit_vectors(2, 9), ["d", "e"])
    store.search(unit_vectors(1, 10)[0], 3)  # warm any cache before the change
    assert store.remove("ada") == 3
    assert store.remove("ada") == 0
    assert store.remove("nobody") == 0
    assert store.persons() == {"bob": 2}
    assert {h.person for h in store.search(unit_vectors(1, 10)[0], 10)} == {"bob"}


@pytest.mark.parametrize("name", ['O"Brien', "back\\slash", "Zoë 'zo' Ünal", "李雷", "a == b || true"])
def test_awkward_names_round_trip(store: VectorStore, name: str) -> None:
    store.add(name, unit_vectors(2, 11), ["x", "y"])
    store.add("other", unit_vectors(1, 12), ["z"])
    assert store.persons() == dict(sorted({name: 2, "other": 1}.items()))
    assert store.remove(name) == 2
    assert store.persons() == {"other": 1}


@pytest.mark.parametrize(("person", "vectors", "sources"), [
    ("ada", np.zeros((2, 64), np.float32), ["a", "b"]),
    ("ada", np.full((1, DIM), np.nan, np.float32), ["a"]),
    ("ada", np.zeros((0, DIM), np.float32), []),
    ("ada", np.zeros((2, DIM), np.float32), ["a"]),
    ("ada", np.zeros((1, DIM), np.float32), "a"),
    ("", np.zeros((1, DIM), np.float32), ["a"]),
    ("line\nbreak", np.zeros((1, DIM), np.float32), ["a"]),
    ("x" * 300, np.zeros((1, DIM), np.float32), ["a"]),
    ("ada", np.zeros((1, DIM), np.float32), ["s" * 5000]),
    ("ada", "not numbers", ["a"]),
])
def test_bad_add_is_rejected_and_stores_nothing(empty_store: VectorStore, person, vectors, sources) -> None:
    with pytest.raises(InvalidInputError):
        empty_store.add(person, vectors, sources)
    assert empty_store.count() == 0


@pytest.mark.parametrize(("query", "k"), [
    (np.zeros(64, np.float32), 1), (np.full(DIM, np.inf, np.float32), 1),
    (np.zeros(DIM, np.float32), 0), (np.zeros(DIM, np.float32), 2.5),
])
def test_bad_search_is_rejected(empty_store: VectorStore, query: np.ndarray, k) -> None:
    with pytest.raises(InvalidInputError):
        empty_store.search(query, k)


def test_context_manager_closes(tmp_path: Path, milvus_lite_path: str) -> None:
    for kind in BACKENDS:
        with make_store(kind, tmp_path / kind, milvus_lite_path) as s:
            s.add("ada", unit_vectors(1, 13), ["a"])
            assert s.count() == 1


def test_reopen_keeps_data(tmp_path: Path, milvus_lite_path: str) -> None:
    vectors = unit_vectors(6, 14)
    collection = f"t_{uuid.uuid4().hex}"
    opened = [
        lambda: SQLiteStore(tmp_path / "g.sqlite"),
        lambda: MilvusStore(milvus_lite_path, collection=collection),
    ]
    for open_ in opened:
        with open_() as s:
            enrol_people(s, vectors, per_person=3)
        with open_() as s:
            assert s.persons() == {"p000": 3, "p001": 3}
            assert s.search(vectors[4], 1)[0].person == "p001"


def test_reopen_with_other_dim_is_refused(tmp_path: Path, milvus_lite_path: str) -> None:
    SQLiteStore(tmp_path / "g.sqlite").close()
    with pytest.raises(InvalidInputError, match="128-D"):
        SQLiteStore(tmp_path / "g.sqlite", dim=64)
    collection = f"t_{uuid.uuid4().hex}"
    MilvusStore(milvus_lite_path, collection=collection).close()
    with pytest.raises(InvalidInputError, match="128-D"):
        MilvusStore(milvus_lite_path, collection=collection, dim=64)


def test_backends_agree_on_the_same_gallery(tmp_path: Path, milvus_lite_path: str) -> None:
    """Identical ranking and distances (to 1e-5) from SQLite and Milvus on one gallery."""
    rng = np.random.default_rng(15)
    centres = unit_vectors(40, 16)
    vectors = np.repeat(centres, 5, axis=0) + 0.03 * rng.standard_normal((200, DIM)).astype(np.float32)
    queries = centres[rng.integers(0, 40, 30)] + 0.03 * rng.standard_normal((30, DIM)).astype(np.float32)
    stores = [make_store(kind, tmp_path, milvus_lite_path) for kind in BACKENDS]
    try:
        for s in stores:
            enrol_people(s, vectors, per_person=5)
        assert stores[0].persons() == stores[1].persons()
        for query in queries:
            a, b = (s.search(query, 12) for s in stores)
            assert [(h.person, h.source) for h in a] == [(h.person, h.source) for h in b]
            np.testing.assert_allclose([h.distance for h in a], [h.distance for h in b], atol=1e-5)
    finally:
        for s in stores:
            s.close()


# ---- SQLite: durability and sharing -------------------------------------------------------

def test_sqlite_uses_wal(tmp_path: Path) -> None:
    with SQLiteStore(tmp_path / "g.sqlite") as s:
        assert s._conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_sqlite_failure_mid_add_leaves_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with SQLiteStore(tmp_path / "g.sqlite") as s:
        s.add("ada", unit_vectors(3, 17), ["a", "b", "c"])
        calls = []
        real = sqlite_store._to_blob

        def failing(vector: np.ndarray) -> bytes:
            calls.append(1)
            if len(calls) == 3:
                raise RuntimeError("disk on fire")
            return real(vector)

        monkeypatch.setattr(sqlite_store, "_to_blob", failing)
        with pytest.raises(RuntimeError, match="disk on fire"):
            s.add("bob", unit_vectors(4, 18), ["d", "e", "f", "g"])
        monkeypatch.setattr(sqlite_store, "_to_blob", real)
        assert len(calls) == 3  # two rows of bob were written inside the transaction, then it failed
        assert s.persons() == {"ada": 3}
        s.add("cy", unit_vectors(1, 19), ["h"])  # the store is still usable
    with SQLiteStore(tmp_path / "g.sqlite") as s:
        assert s.persons() == {"ada": 3, "cy": 1}


def test_sqlite_process_killed_mid_add(tmp_path: Path) -> None:
    """Another process commits one enrolment, then dies inside the next: this handle's cached
    matrix picks up the committed one, and the killed one left nothing."""
    path = tmp_path / "g.sqlite"
    vectors = unit_vectors(8, 20)
    with SQLiteStore(path) as s:
        s.add("ada", vectors[:2], ["a", "b"])
        assert s.search(vectors[2], 1)[0].person == "ada"  # matrix cached
        child = textwrap.dedent(f"""
            import os, numpy as np
            from faceqa.gallery import sqlite_store
            v = np.load({str(tmp_path / "v.npy")!r})
            s = sqlite_store.SQLiteStore({str(path)!r})
            s.add("bob", v[2:4], ["c", "d"])
            calls = []
            real = sqlite_store._to_blob
            def dying(vector):
                calls.append(1)
                if len(calls) == 3:
                    os._exit(9)
                return real(vector)
            sqlite_store._to_blob = dying
            s.add("cy", v[4:8], ["e", "f", "g", "h"])
        """)
        np.save(tmp_path / "v.npy", vectors)
        proc = subprocess.run([sys.executable, "-c", child], cwd=REPO, capture_output=True, text=True)
        assert proc.returncode == 9, proc.stderr
        assert s.persons() == {"ada": 2, "bob": 2}
        assert s.search(vectors[2], 1)[0].person == "bob"
        assert {h.person for h in s.search(vectors[5], 10)} == {"ada", "bob"}


def test_sqlite_two_handles_see_each_others_writes(tmp_path: Path) -> None:
    vectors = unit_vectors(4, 21)
    with SQLiteStore(tmp_path / "g.sqlite") as a, SQLiteStore(tmp_path / "g.sqlite") as b:
        a.add("ada", vectors[:2], ["a", "b"])
        assert b.search(vectors[0], 1)[0].person == "ada"
        b.add("bob", vectors[2:], ["c", "d"])
        assert a.search(vectors[3], 1)[0].person == "bob"
        b.remove("bob")
        assert {h.person for h in a.search(vectors[3], 4)} == {"ada"}


def test_sqlite_rejects_a_file_that_is_not_a_database(tmp_path: Path) -> None:
    bad = tmp_path / "notes.sqlite"
    bad.write_text("just some text, not a database" * 100)
    with pytest.raises(InvalidInputError, match="notes.sqlite"):
        SQLiteStore(bad)
    with pytest.raises(InvalidInputError, match="folder"):
        SQLiteStore(tmp_path)


# ---- Milvus specifics ----------------------------------------------------------------------

def test_milvus_refuses_a_foreign_collection(milvus_lite_path: str) -> None:
    from pymilvus import MilvusClient

    client = MilvusClient(milvus_lite_path)
    name = f"t_{uuid.uuid4().hex}"
    client.create_collection(name, dimension=DIM)
    client.close()
    with pytest.raises(InvalidInputError, match="not a faceqa gallery"):
        MilvusStore(milvus_lite_path, collection=name)


def test_milvus_lite_path_must_be_a_db_folder(tmp_path: Path) -> None:
    with pytest.raises(InvalidInputError, match=r"\.db"):
        MilvusStore(tmp_path / "gallery.milvus")
    (tmp_path / "file.milvus.db").write_text("not a folder")
    with pytest.raises(InvalidInputError, match="is a file"):
        MilvusStore(tmp_path / "file.milvus.db")


def test_milvus_unreachable_server_is_a_clear_error() -> None:
    with pytest.raises(InvalidInputError, match="cannot connect to Milvus"):
        MilvusStore("http://127.0.0.1:1", timeout=3)


# ---- URI -> backend ------------------------------------------------------------------------

@pytest.mark.parametrize(("uri", "expected"), [
    ("/g/people.sqlite", ("sqlite", "/g/people.sqlite", {})),
    ("/g/people.db", ("sqlite", "/g/people.db", {})),
    ("sqlite:///g/people", ("sqlite", "/g/people", {})),
    ("/g/people.milvus.db", ("milvus-lite", "/g/people.milvus.db", {})),
    ("milvus-lite:///g/people.db", ("milvus-lite", "/g/people.db", {})),
    ("/g/people.milvus.db?collection=staff", ("milvus-lite", "/g/people.milvus.db", {"collection": "staff"})),
    ("http://10.0.0.5:19530", ("milvus", "http://10.0.0.5:19530", {})),
    ("https://in01.zillizcloud.com:19538", ("milvus", "https://in01.zillizcloud.com:19538", {})),
    ("milvus://10.0.0.5:19530?collection=faces", ("milvus", "http://10.0.0.5:19530", {"collection": "faces"})),
])
def test_resolve_uri(uri: str, expected: tuple[str, str, dict]) -> None:
    assert resolve_uri(uri) == expected


def test_resolve_uri_existing_lite_folder(tmp_path: Path) -> None:
    (tmp_path / "old.db").mkdir()
    assert resolve_uri(tmp_path / "old.db") == ("milvus-lite", str(tmp_path / "old.db"), {})


@pytest.mark.parametrize("uri", ["ftp://host/g.db", "/g/people.txt", "sqlite://", "/g/p.sqlite?collection=x",
                                 "http://h:1?collection=", "http://h:1?token=secret", "http://h:1?collection=a&collection=b"])
def test_resolve_uri_rejects(uri: str) -> None:
    with pytest.raises(InvalidInputError):
        resolve_uri(uri)


def test_default_gallery_under_faceqa_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FACEQA_HOME", str(tmp_path / "home"))
    assert default_gallery_uri() == str(tmp_path / "home" / "gallery.sqlite")
    assert resolve_uri(None) == ("sqlite", str(tmp_path / "home" / "gallery.sqlite"), {})
    with open_store() as s:
        assert isinstance(s, SQLiteStore)
    assert (tmp_path / "home" / "gallery.sqlite").is_file()
    monkeypatch.delenv("FACEQA_HOME")
    assert default_gallery_uri() == str(Path("~/.faceqa/gallery.sqlite").expanduser())


def test_open_store_picks_milvus_lite(tmp_path: Path) -> None:
    with open_store(f"{tmp_path / 'people.milvus.db'}?collection=people") as s:
        assert isinstance(s, MilvusStore) and s.lite and s.collection == "people"
        s.add("ada", unit_vectors(1, 22), ["a"])
        assert s.persons() == {"ada": 1}
