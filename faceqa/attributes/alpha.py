"""The ridge penalty chosen from the training data: closed-form leave-one-out error over a log grid.

Ridge regression with an unpenalised intercept on a design ``A`` (n, k) is a linear smoother
``Y_hat = H Y`` with ``H = 11^T/n + A_c (A_c^T A_c + lam I)^-1 A_c^T`` (``A_c`` the column-centred
design: the intercept only carries the mean). Each leave-one-out residual is the training residual
divided by ``1 - H_ii`` (the PRESS identity of penalised least squares), so the leave-one-out error of
every ``lam`` of the grid comes from one eigendecomposition of the smaller Gram matrix
(``A_c A_c^T``, n x n, or ``A_c^T A_c``, k x k): with ``A_c = U S V^T`` and ``f = s^2 / (s^2 + lam)``,
``residual = y_c - U (f * U^T y_c)`` and ``H_ii = 1/n + sum_j U_ij^2 f_j``, O(n min(n, k)) per ``lam``.

The eigendecomposition runs in torch on one thread: numpy's OpenBLAS cannot be limited per call, and
its two-thread tridiagonal reduction runs 5 to 10 times slower than one thread when other jobs share
the CPU (901 x 901: 2.5 to 11 s against 0.9 s on this 2-core machine).

``alpha="auto"`` in :class:`~faceqa.attributes.ridge.RidgeRegressor` and
:class:`~faceqa.attributes.bls.BLSRegressor` takes the grid value with the smallest error
(:func:`choose_alpha`) on the data passed to ``fit`` only: inside a cross-validation fold that is the
fold's training part, never its held-out part.
"""

from __future__ import annotations

import numpy as np

from faceqa.errors import InvalidInputError
from faceqa.torch_threads import one_thread

AUTO = "auto"
ALPHA_GRID = tuple(float(a) for a in np.logspace(-3, 5, 33))
"""Candidate penalties: 1e-3 to 1e5, four per decade."""


def check_alpha(alpha: float | str) -> float | str:
    """``"auto"`` or a positive float; InvalidInputError naming the value otherwise."""
    if alpha == AUTO:
        return AUTO
    try:
        value = float(alpha)
    except (TypeError, ValueError):
        value = float("nan")
    if not value > 0 or not np.isfinite(value):
        raise InvalidInputError(f"alpha must be a positive number or {AUTO!r}, got {alpha!r}")
    return value


def centred_spectrum(ac: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(U (n, r), s^2 (r,)): left singular vectors and squared singular values of ``ac`` (n, k), the
    directions whose ``s^2`` is above 1e-10 of the largest, from the eigendecomposition of the smaller Gram."""
    import torch

    n, k = ac.shape
    with one_thread():
        s2, vecs = (t.numpy() for t in torch.linalg.eigh(torch.from_numpy(ac @ ac.T if n <= k else ac.T @ ac)))
    keep = s2 > max(float(s2.max(initial=0.0)), 1e-300) * 1e-10
    s2 = s2[keep]
    u = vecs[:, keep] if n <= k else (ac @ vecs[:, keep]) / np.sqrt(s2)
    return u, s2


def loo_errors(a: np.ndarray, y: np.ndarray, alphas: tuple[float, ...] = ALPHA_GRID) -> np.ndarray:
    """Leave-one-out mean squared error (len(alphas),) of ridge with an unpenalised intercept on design ``a``
    (n, k; no bias column) and targets ``y`` (n,) or (n, t), each target's error divided by its variance."""
    a, y = np.asarray(a, np.float64), np.asarray(y, np.float64)
    n = len(a)
    if a.ndim != 2 or n < 1 or len(y) != n or y.ndim > 2:
        raise InvalidInputError(f"leave-one-out needs a (samples, columns) design and one target row per sample, "
                                f"got design {a.shape} and targets {y.shape}")
    y = y.reshape(n, -1)
    yc = y - y.mean(0)
    var = np.maximum(yc.var(0), 1e-300)
    u, s2 = centred_spectrum(a - a.mean(0))
    uty, u2 = u.T @ yc, u**2
    out = np.empty(len(alphas))
    for i, lam in enumerate(alphas):
        f = s2 / (s2 + lam)
        resid = yc - u @ (f[:, None] * uty)
        leverage = np.minimum(1.0 / n + u2 @ f, 1.0 - 1e-12)
        out[i] = float(np.mean((resid / (1.0 - leverage)[:, None]) ** 2 / var))
    return out


def choose_alpha(a: np.ndarray, y: np.ndarray, alphas: tuple[float, ...] = ALPHA_GRID) -> float:
    """The penalty in ``alphas`` with the smallest leave-one-out error (:func:`loo_errors`); the larger on ties."""
    errors = loo_errors(a, y, alphas)
    best = np.flatnonzero(errors <= errors.min())
    return float(alphas[best[-1]])
