"""Facial attribute regression: transfer features of the largest face, and Broad Learning System heads.

>>> from faceqa.attributes import BLSRegressor, FaceFeaturizer            # doctest: +SKIP
>>> x, kept, failed = FaceFeaturizer().features(["a.jpg", "b.jpg"])     # doctest: +SKIP
>>> BLSRegressor().fit(x, y).predict(x)                                  # doctest: +SKIP

- :mod:`~faceqa.attributes.features`: the feature table (EfficientNet-Lite0 multi-stage maps of the
  aligned crop, mesh geometry, identity embedding; open to new sets);
- :class:`BLSRegressor` (E-BLS when fed the CNN features) with incremental nodes and samples,
  :class:`ERBLSRegressor` (a connection layer trained in torch, then the BLS), and the baselines
  :class:`RidgeRegressor` and :class:`MLPRegressor`; the ridge and BLS penalty is chosen on the training
  data by closed-form leave-one-out error (:mod:`~faceqa.attributes.alpha`, ``alpha="auto"``);
- :func:`train_attribute_model` and :class:`AttributeModel` (the saved model folder), behind
  ``faceqa attributes train|predict`` and the ``score_face_attribute`` agent tool.
"""

from faceqa.attributes.bls import BLSRegressor
from faceqa.attributes.erbls import ERBLSRegressor
from faceqa.attributes.evaluate import cross_validate, regression_metrics
from faceqa.attributes.features import FEATURE_SETS, FaceFeaturizer, FeatureSet, register_feature_set
from faceqa.attributes.mlp import MLPRegressor
from faceqa.attributes.regressors import REGRESSORS, make_regressor
from faceqa.attributes.ridge import RidgeRegressor
from faceqa.attributes.store import AttributeModel
from faceqa.attributes.train import read_labels, train_attribute_model

__all__ = ["FEATURE_SETS", "REGRESSORS", "AttributeModel", "BLSRegressor", "ERBLSRegressor", "FaceFeaturizer",
           "FeatureSet", "MLPRegressor", "RidgeRegressor", "cross_validate", "make_regressor", "read_labels",
           "register_feature_set", "regression_metrics", "train_attribute_model"]
