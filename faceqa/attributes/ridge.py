"""Ridge regression with an unpenalised intercept: the closed-form solve every regressor here shares.

The design matrix ``A`` (n, k) gets a constant first column (the bias node); the system solved is
``(A1^T A1 + L) W = A1^T Y`` with ``L = diag(0, lam, ..., lam)``, so the intercept is not shrunk. The
matrix is symmetric positive definite whenever ``lam > 0`` and n >= 1, and is factorised by Cholesky
in float64 (:func:`ridge_system`); its factor gives the inverse ``P`` (:func:`factor_inverse`) that the
incremental updates of :mod:`faceqa.attributes.bls` keep.

:class:`RidgeRegressor` is the linear baseline: ridge on the standardised inputs, its penalty chosen by
closed-form leave-one-out error on the training data by default (:mod:`faceqa.attributes.alpha`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import scipy.linalg

from faceqa.attributes.alpha import AUTO, check_alpha, choose_alpha
from faceqa.errors import InvalidInputError


def with_bias(a: np.ndarray) -> np.ndarray:
    """``a`` (n, k) with a column of ones put first (the bias node)."""
    return np.hstack([np.ones((len(a), 1), dtype=a.dtype), a])


def penalty(k: int, lam: float) -> np.ndarray:
    """The diagonal ``L`` for the bias and k weights: 0, then ``lam`` k times."""
    d = np.full(k + 1, float(lam))
    d[0] = 0.0
    return d


def ridge_system(a1: np.ndarray, y: np.ndarray, lam: float) -> tuple[np.ndarray, tuple]:
    """(W, factor): the ridge weights (k+1, t) for ``a1`` that already has its bias column, and the Cholesky
    factor of ``A1^T A1 + L`` (for :func:`factor_inverse`).

    Raises InvalidInputError when ``lam`` is not positive or the system is not positive definite
    (non-finite features).
    """
    if not lam > 0:
        raise InvalidInputError(f"ridge penalty must be positive, got {lam!r}")
    a1 = np.asarray(a1, np.float64)
    g = a1.T @ a1
    g[np.diag_indices_from(g)] += penalty(a1.shape[1] - 1, lam)
    try:
        factor = scipy.linalg.cho_factor(g, lower=False, check_finite=True)
    except (np.linalg.LinAlgError, ValueError) as exc:
        raise InvalidInputError(f"ridge system cannot be solved ({exc}): check the features for NaN or inf") from None
    return scipy.linalg.cho_solve(factor, a1.T @ np.asarray(y, np.float64)), factor


def factor_inverse(factor: tuple) -> np.ndarray:
    """``P = (A1^T A1 + L)^-1`` (symmetrised) from the Cholesky factor :func:`ridge_system` returned."""
    p = scipy.linalg.cho_solve(factor, np.eye(len(factor[0])))
    return (p + p.T) / 2


def as_targets(y: np.ndarray) -> np.ndarray:
    """Targets as a float64 (n, t) matrix (a vector becomes one column)."""
    y = np.asarray(y, np.float64)
    return y[:, None] if y.ndim == 1 else y


def block_weights(blocks: Sequence[int]) -> np.ndarray:
    """Per-column weights that give each block of columns the same total variance after standardising.

    A block of ``d_b`` of the ``d`` columns gets ``sqrt(d / (len(blocks) * d_b))``, so the columns still
    average unit variance but 22 geometry measures weigh as much as 2024 CNN channels.
    """
    sizes = [int(b) for b in blocks]
    if not sizes or min(sizes) < 1:
        raise InvalidInputError(f"feature blocks must be positive sizes, got {list(blocks)}")
    total = sum(sizes)
    return np.concatenate([np.full(b, np.sqrt(total / (len(sizes) * b))) for b in sizes])


class Standardizer:
    """Per-column mean and standard deviation of the training inputs, fixed at the first fit."""

    def __init__(self) -> None:
        self.mean: np.ndarray | None = None
        self.scale: np.ndarray | None = None

    def fit(self, x: np.ndarray, blocks: Sequence[int] | None = None) -> Standardizer:
        """Learn the column statistics of ``x`` (n, d); constant columns keep scale 1. With ``blocks`` (column
        counts of consecutive feature sets), each set is then weighted by :func:`block_weights`."""
        x = np.asarray(x, np.float64)
        self.mean = x.mean(0)
        std = x.std(0)
        self.scale = np.where(std > 1e-12, std, 1.0)
        if blocks:
            if sum(blocks) != x.shape[1]:
                raise InvalidInputError(f"feature blocks {list(blocks)} cover {sum(blocks)} columns, not {x.shape[1]}")
            self.scale = self.scale / block_weights(blocks)
        return self

    def transform(self, x: np.ndarray) -> np.ndarray:
        """``(x - mean) / scale``."""
        return (np.asarray(x, np.float64) - self.mean) / self.scale

    def state(self) -> dict[str, np.ndarray]:
        """Arrays to save."""
        return {"mean": self.mean, "scale": self.scale}

    @classmethod
    def from_state(cls, state: dict[str, np.ndarray]) -> Standardizer:
        """Rebuild from :meth:`state`."""
        s = cls()
        s.mean, s.scale = np.asarray(state["mean"]), np.asarray(state["scale"])
        return s


def check_xy(x: np.ndarray, y: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray | None]:
    """Validated float64 inputs (n, d) and targets (n, t); InvalidInputError on shape or NaN problems."""
    x = np.asarray(x, np.float64)
    if x.ndim != 2 or len(x) == 0:
        raise InvalidInputError(f"features must be a non-empty (samples, features) matrix, got shape {x.shape}")
    if not np.isfinite(x).all():
        raise InvalidInputError("features hold NaN or inf")
    if y is None:
        return x, None
    y = as_targets(y)
    if len(y) != len(x):
        raise InvalidInputError(f"{len(x)} feature rows but {len(y)} targets")
    if not np.isfinite(y).all():
        raise InvalidInputError("targets hold NaN or inf")
    return x, y


def fitted_alpha(alpha: float | str, a: np.ndarray, y: np.ndarray) -> float:
    """The penalty to solve with: ``alpha`` itself, or for ``"auto"`` the leave-one-out choice on design ``a``
    (no bias column) and targets ``y`` (:func:`~faceqa.attributes.alpha.choose_alpha`)."""
    return choose_alpha(a, y) if alpha == AUTO else float(alpha)


def restore_head(model: Any, state: dict[str, np.ndarray]) -> Any:
    """Set a linear model's fitted ``coef_``, penalty ``alpha_`` and input ``scaler`` from saved arrays (``coef``,
    ``alpha``, ``scaler_mean``, ``scaler_scale``; folders without ``alpha`` had a fixed one); returns the model."""
    model.coef_ = np.asarray(state["coef"])
    model.alpha_ = float(state["alpha"]) if "alpha" in state else float(model.alpha)
    model._vector = model.coef_.shape[1] == 1
    model.scaler = Standardizer.from_state({"mean": state["scaler_mean"], "scale": state["scaler_scale"]})
    return model


class RidgeRegressor:
    """Ridge regression on standardised inputs with an unpenalised intercept (the linear baseline); with fewer
    samples than features it solves the equivalent dual system.

    Args:
        alpha: the ridge penalty ``lam``, or ``"auto"``: chosen on the training data by leave-one-out error
            (:mod:`faceqa.attributes.alpha`); the penalty used is ``alpha_`` after :meth:`fit`.
        blocks: column counts of consecutive feature sets, weighted equally (:func:`block_weights`).
    """

    kind = "ridge"

    def __init__(self, alpha: float | str = AUTO, blocks: Sequence[int] | None = None):
        self.alpha = check_alpha(alpha)
        self.blocks = [int(b) for b in blocks] if blocks else None
        self.scaler = Standardizer()
        self.coef_: np.ndarray | None = None
        self.alpha_: float | None = None

    def fit(self, x: np.ndarray, y: np.ndarray) -> RidgeRegressor:
        """Choose the penalty (when ``"auto"``) and solve the ridge system on (x, y)."""
        x, y = check_xy(x, y)
        self.scaler.fit(x, self.blocks)
        self._vector = y.shape[1] == 1
        xs = self.scaler.transform(x)
        self.alpha_ = fitted_alpha(self.alpha, xs, y)
        if len(xs) >= xs.shape[1]:
            self.coef_, _ = ridge_system(with_bias(xs), y, self.alpha_)
            return self
        # fewer samples than features: the same solution from the n x n dual system of the centred data
        mu, y_mean = xs.mean(0), y.mean(0)
        xc = xs - mu
        gram = xc @ xc.T
        gram[np.diag_indices_from(gram)] += self.alpha_
        w = xc.T @ scipy.linalg.solve(gram, y - y_mean, assume_a="pos")
        self.coef_ = np.vstack([y_mean - mu @ w, w])
        return self

    def predict(self, x: np.ndarray) -> np.ndarray:
        """Predictions (n,) for one target, (n, t) for several."""
        x, _ = check_xy(x)
        out = with_bias(self.scaler.transform(x)) @ self.coef_
        return out[:, 0] if self._vector else out

    def state(self) -> dict[str, np.ndarray]:
        """Arrays to save (see :mod:`faceqa.attributes.store`)."""
        return {"coef": self.coef_, "alpha": np.asarray(self.alpha_),
                **{f"scaler_{k}": v for k, v in self.scaler.state().items()}}

    def config(self) -> dict:
        """Constructor arguments to save."""
        return {"alpha": self.alpha, "blocks": self.blocks}

    @classmethod
    def restore(cls, config: dict, state: dict[str, np.ndarray]) -> RidgeRegressor:
        """Rebuild a fitted model from :meth:`config` and :meth:`state`."""
        return restore_head(cls(**config), state)
