"""A trained attribute model and its folder: the regressor, the feature sets it reads, its cross-validation.

Folder layout (written by :meth:`AttributeModel.save`, read by :meth:`AttributeModel.load`):

``attribute_model.json``
    ``format``, ``target`` (the CSV column it predicts), ``model`` (``bls``, ``erbls``, ``ridge``,
    ``mlp``), ``config`` (the regressor's arguments), ``feature_sets``, ``n_features``, ``n_train``,
    ``cv`` (k-fold Pearson, MAE, RMSE and fit time, or null), ``fitted_alpha`` (the ridge penalty the
    regressor solved with, chosen by leave-one-out when its ``alpha`` is ``"auto"``; null for the MLP),
    ``faceqa_version``.
``weights.npz``
    the regressor's arrays and ``columns`` (the feature names), no pickles.

Loading checks that the feature sets still give exactly these columns, so a model never scores
features it was not trained on.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from faceqa.attributes.features import FEATURE_SETS, FaceFeaturizer, ImageInput
from faceqa.attributes.regressors import restore_regressor
from faceqa.errors import FaceQAError, IncompatibleBundleError, InvalidInputError, ModelUnavailableError

FORMAT = 1
CONFIG_FILE = "attribute_model.json"
WEIGHTS_FILE = "weights.npz"


@dataclass
class AttributeModel:
    """A fitted regressor of one target over the named feature sets."""

    target: str
    regressor: Any
    feature_sets: tuple[str, ...]
    columns: list[str]
    n_train: int
    cv: dict | None = None
    extra: dict = field(default_factory=dict)

    @property
    def kind(self) -> str:
        """The regressor's name (``bls``, ``erbls``, ``ridge``, ``mlp``)."""
        return self.regressor.kind

    def featurizer(self) -> FaceFeaturizer:
        """A featurizer for this model's feature sets."""
        return FaceFeaturizer(self.feature_sets)

    def predict_features(self, x: np.ndarray) -> np.ndarray:
        """Scores (n,) of feature rows laid out as :attr:`columns`."""
        x = np.asarray(x, np.float64)
        if x.ndim != 2 or x.shape[1] != len(self.columns):
            raise InvalidInputError(f"expected {len(self.columns)} features per row, got shape {x.shape}")
        return np.asarray(self.regressor.predict(x), np.float64).ravel()

    def predict_images(self, images: Sequence[ImageInput], names: Sequence[str] | None = None,
                       progress: bool = False, featurizer: FaceFeaturizer | None = None) -> list[dict]:
        """One dict per image, in order: ``image``, ``score`` and ``bbox`` of its largest face, or ``error``."""
        featurizer = featurizer or self.featurizer()
        labels = list(names) if names is not None else [os.fspath(i) if not isinstance(i, np.ndarray) else "image"
                                                        for i in images]
        out: list[dict] = [{"image": label} for label in labels]
        for kept, x, failed in featurizer.iter_batches(images, labels, progress=progress):
            for i, score in zip(kept, self.predict_features(x) if kept else [], strict=True):
                out[i]["score"] = float(score)
            for i, msg in failed.items():
                out[i]["error"] = msg
        return out

    def save(self, folder: str | os.PathLike) -> Path:
        """Write the model folder (created if needed) and return its path."""
        from faceqa import __version__

        path = Path(folder)
        path.mkdir(parents=True, exist_ok=True)
        meta = {"format": FORMAT, "target": self.target, "model": self.kind, "config": self.regressor.config(),
                "feature_sets": list(self.feature_sets), "n_features": len(self.columns), "n_train": self.n_train,
                "cv": self.cv, "fitted_alpha": getattr(self.regressor, "alpha_", None), "faceqa_version": __version__,
                **self.extra}
        arrays = {k: np.asarray(v) for k, v in self.regressor.state().items()}
        np.savez(path / WEIGHTS_FILE, columns=np.asarray(self.columns), **arrays)
        (path / CONFIG_FILE).write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")
        return path

    @classmethod
    def load(cls, folder: str | os.PathLike) -> AttributeModel:
        """Read a model folder; ModelUnavailableError when it is not one, IncompatibleBundleError when its
        feature sets are unknown here or now give other columns."""
        path = Path(folder)
        if not (path / CONFIG_FILE).is_file() or not (path / WEIGHTS_FILE).is_file():
            raise ModelUnavailableError(f"{folder}: not an attribute model folder (no {CONFIG_FILE} and "
                                        f"{WEIGHTS_FILE}; train one with `faceqa attributes train`)")
        try:
            meta = json.loads((path / CONFIG_FILE).read_text(encoding="utf-8"))
            with np.load(path / WEIGHTS_FILE, allow_pickle=False) as z:
                state = {k: z[k] for k in z.files}
        except (OSError, ValueError) as exc:
            raise ModelUnavailableError(f"{folder}: unreadable attribute model ({exc})") from None
        if meta.get("format") != FORMAT:
            raise IncompatibleBundleError(f"{folder}: attribute model format {meta.get('format')!r}, "
                                          f"this faceqa reads {FORMAT}")
        sets = tuple(meta["feature_sets"])
        missing = [s for s in sets if s not in FEATURE_SETS]
        if missing:
            raise IncompatibleBundleError(f"{folder}: trained on feature set {missing[0]!r}, which this faceqa "
                                          f"does not have (known: {', '.join(FEATURE_SETS)})")
        columns = [str(c) for c in state.pop("columns")]
        if columns != FaceFeaturizer(sets).columns():
            raise IncompatibleBundleError(f"{folder}: its feature columns differ from what "
                                          f"{'+'.join(sets)} gives in this faceqa; train it again")
        try:
            regressor = restore_regressor(meta["model"], meta["config"], state)
        except (KeyError, TypeError, FaceQAError) as exc:
            raise ModelUnavailableError(f"{folder}: broken attribute model ({exc})") from None
        known = {"format", "target", "model", "config", "feature_sets", "n_features", "n_train", "cv", "fitted_alpha"}
        return cls(meta["target"], regressor, sets, columns, int(meta["n_train"]), meta.get("cv"),
                   {k: v for k, v in meta.items() if k not in known})
