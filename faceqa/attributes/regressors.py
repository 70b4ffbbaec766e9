"""The regressors a trained attribute model can use, by name."""

from __future__ import annotations

from typing import Any

from faceqa.attributes.bls import BLSRegressor
from faceqa.attributes.erbls import ERBLSRegressor
from faceqa.attributes.mlp import MLPRegressor
from faceqa.attributes.ridge import RidgeRegressor
from faceqa.errors import InvalidInputError

REGRESSORS: dict[str, type] = {"bls": BLSRegressor, "erbls": ERBLSRegressor, "ridge": RidgeRegressor,
                               "mlp": MLPRegressor}
"""``bls`` (E-BLS: BLS on the features), ``erbls`` (connection layer + BLS), ``ridge``, ``mlp``."""


def make_regressor(kind: str, **params: Any):
    """A new, unfitted regressor of kind ``kind`` with constructor arguments ``params``."""
    if kind not in REGRESSORS:
        raise InvalidInputError(f"unknown model {kind!r}; choose from {', '.join(REGRESSORS)}")
    try:
        return REGRESSORS[kind](**params)
    except TypeError as exc:
        raise InvalidInputError(f"model {kind!r}: {exc}") from None


def restore_regressor(kind: str, config: dict, state: dict) -> Any:
    """A fitted regressor of kind ``kind`` rebuilt from its saved config and arrays."""
    if kind not in REGRESSORS:
        raise InvalidInputError(f"unknown model {kind!r}; choose from {', '.join(REGRESSORS)}")
    return REGRESSORS[kind].restore(config, state)
