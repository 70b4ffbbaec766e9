"""Training an attribute model from a CSV of image paths and scores: read, featurise, cross-validate, fit, save.

The CSV has a header; one column holds image paths (absolute, or relative to the CSV's folder), one
the numeric score to learn, optionally one a group label for the folds (a person, a video). Every
problem with the file is reported before any image is read: a missing column, a score that is not
a number, an image path that is empty or does not exist (all named with their CSV line). Images
where no face is found are left out and listed in the report.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from faceqa.attributes.evaluate import cross_validate
from faceqa.attributes.features import DEFAULT_SETS, FaceFeaturizer
from faceqa.attributes.regressors import make_regressor
from faceqa.attributes.store import AttributeModel
from faceqa.errors import InvalidInputError, MediaNotFoundError

IMAGE_COLUMNS = ("image", "path", "file", "filename", "image_path", "img")
"""Column names taken as the image column when none is given (case-insensitive, first found)."""
MAX_LISTED = 5


@dataclass
class LabelTable:
    """The usable rows of a label CSV: image paths, scores, groups (or None) and CSV line numbers."""

    images: list[Path]
    scores: np.ndarray
    groups: list[str] | None
    lines: list[int]
    target: str


def _listing(items: Sequence[str]) -> str:
    more = f" and {len(items) - MAX_LISTED} more" if len(items) > MAX_LISTED else ""
    return ", ".join(items[:MAX_LISTED]) + more


def read_labels(csv: str | os.PathLike, target: str, image_column: str | None = None,
                group_column: str | None = None) -> LabelTable:
    """Read and check a label CSV (see the module docstring); InvalidInputError says what is wrong and where."""
    import pandas as pd

    path = Path(csv)
    if not path.is_file():
        raise MediaNotFoundError(f"{csv}: no such CSV file")
    try:
        df = pd.read_csv(path, dtype=str, keep_default_na=False, skipinitialspace=True)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise InvalidInputError(f"{csv}: not a readable CSV ({str(exc).splitlines()[0]})") from None
    df.columns = [str(c).strip() for c in df.columns]
    cols = ", ".join(df.columns)
    if target not in df.columns:
        raise InvalidInputError(f"{csv}: no column {target!r} (columns: {cols})")
    if image_column is None:
        lower = {c.lower(): c for c in df.columns}
        image_column = next((lower[c] for c in IMAGE_COLUMNS if c in lower), None)
        if image_column is None:
            raise InvalidInputError(f"{csv}: which column holds the image paths? name it with --image-column "
                                    f"(columns: {cols})")
    for name, col in (("image", image_column), ("group", group_column)):
        if col is not None and col not in df.columns:
            raise InvalidInputError(f"{csv}: no {name} column {col!r} (columns: {cols})")
    if df.empty:
        raise InvalidInputError(f"{csv}: no rows under the header")
    lines = [i + 2 for i in range(len(df))]  # line 1 is the header
    scores = pd.to_numeric(df[target].str.strip(), errors="coerce").to_numpy(np.float64)
    bad = [f"line {n} ({v!r})" for n, v, s in zip(lines, df[target], scores, strict=True) if not np.isfinite(s)]
    if bad:
        raise InvalidInputError(f"{csv}: column {target!r} must hold numbers; not at {_listing(bad)}")
    images, missing = [], []
    for n, value in zip(lines, df[image_column], strict=True):
        value = value.strip()
        p = Path(value) if os.path.isabs(value) else path.parent / value
        if not value or not p.is_file():
            missing.append(f"line {n} ({value!r})")
        images.append(p)
    if missing:
        raise InvalidInputError(f"{csv}: image files not found: {_listing(missing)} (relative paths are taken "
                                f"from the CSV's folder)")
    groups = [g.strip() for g in df[group_column]] if group_column else None
    return LabelTable(images, scores, groups, lines, target)


@dataclass
class TrainingReport:
    """What training did: faces used, images left out (line -> why), the k-fold scores and the fit time."""

    n_rows: int
    n_faces: int
    skipped: dict[int, str] = field(default_factory=dict)
    cv: dict | None = None
    fit_s: float = 0.0
    out: str = ""

    def to_dict(self) -> dict:
        """JSON-ready form."""
        return {"rows": self.n_rows, "faces": self.n_faces, "skipped": {str(k): v for k, v in self.skipped.items()},
                "cv": self.cv, "fit_s": self.fit_s, "out": self.out}


def train_from_features(x: np.ndarray, y: np.ndarray, target: str, columns: list[str], feature_sets: Sequence[str],
                        model: str = "bls", params: dict[str, Any] | None = None, folds: int = 5,
                        groups: Sequence[str] | None = None,
                        on_fold: Callable[[int], None] | None = None) -> tuple[AttributeModel, dict | None, float]:
    """(fitted model on all rows, k-fold scores or None when ``folds`` < 2, seconds of the final fit).

    With several feature sets each weighs the same (the regressor's ``blocks``) unless ``params`` says otherwise.
    """
    import time

    params = dict(params or {})
    if len(feature_sets) > 1:
        params.setdefault("blocks", FaceFeaturizer(feature_sets).sizes())
    make_regressor(model, **params)  # fail on bad parameters before the folds
    cv = None
    if folds >= 2:
        cv = cross_validate(lambda: make_regressor(model, **params), x, y, k=folds, groups=groups, on_fold=on_fold)
    regressor = make_regressor(model, **params)
    t0 = time.perf_counter()
    regressor.fit(x, y)
    fit_s = time.perf_counter() - t0
    summary = None if cv is None else {"folds": folds, "grouped": groups is not None, **cv["mean"],
                                       "std": cv["std"], "pooled": cv["pooled"]}
    return AttributeModel(target, regressor, tuple(feature_sets), columns, len(y), summary), summary, fit_s


def train_attribute_model(csv: str | os.PathLike, target: str, out: str | os.PathLike, model: str = "bls",
                          feature_sets: str | Sequence[str] = DEFAULT_SETS, folds: int = 5,
                          image_column: str | None = None, group_column: str | None = None,
                          params: dict[str, Any] | None = None, progress: bool = False) -> TrainingReport:
    """Read the CSV, featurise the largest face of each image, cross-validate, fit on all faces, save to ``out``."""
    table = read_labels(csv, target, image_column, group_column)
    featurizer = FaceFeaturizer(feature_sets)
    x, kept, failed = featurizer.features(table.images, [str(p) for p in table.images], progress=progress)
    skipped = {table.lines[i]: msg for i, msg in failed.items()}
    need = max(2 * folds, 2)
    if len(kept) < need:
        raise InvalidInputError(f"{csv}: only {len(kept)} of {len(table.images)} images have a face; "
                                f"need at least {need} to train (2 per fold)")
    y = table.scores[kept]
    groups = [table.groups[i] for i in kept] if table.groups is not None else None
    bar = None
    if progress and folds >= 2:
        from tqdm import tqdm

        bar = tqdm(total=folds, unit="fold", desc="cross-validation", leave=False)
    try:
        fitted, cv, fit_s = train_from_features(x, y, target, featurizer.columns(), featurizer.sets, model, params,
                                                folds, groups, on_fold=(lambda _: bar.update(1)) if bar else None)
    finally:
        if bar is not None:
            bar.close()
    fitted.save(out)
    return TrainingReport(len(table.images), len(kept), skipped, cv, fit_s, os.fspath(out))
