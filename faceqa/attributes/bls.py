"""A Broad Learning System regressor (Chen and Liu, 2018) with its incremental updates.

Structure, for standardised inputs ``X`` (n, d):

- **Mapped feature nodes** ``Z``: ``n_windows`` groups of ``nodes_per_window`` sparse random
  projections of ``X`` (very sparse projections, density ``1/sqrt(d)``, entries ``+-sqrt(s/d)``),
  each node standardised on the first fit. ``mapping="identity"`` uses ``X`` itself instead.
- **Enhancement nodes** ``H = tanh(scale * [1, Z] W_e)``, ``W_e`` Gaussian with variance ``1/(k+1)``
  (k feature nodes), added in blocks; each block's weights come from ``(seed, block)``.
- **Output weights** by ridge regression on ``A = [1, Z, H]`` with an unpenalised intercept
  (:func:`~faceqa.attributes.ridge.ridge_system`, Cholesky in float64). With ``alpha="auto"`` (the
  default) the penalty is the one of a log grid with the smallest closed-form leave-one-out error of
  this read-out on the training samples (:mod:`faceqa.attributes.alpha`), chosen once by :meth:`fit`
  and kept as ``alpha_`` by every later update and by :meth:`~BLSRegressor.fit_weights`.

Incremental learning keeps ``P = (A^T A + L)^-1`` and updates it without solving again; these are
the BLS pseudo-inverse update formulas in their ridge-regularised form, exact rather than the
``lam -> 0`` limit:

- **New samples** ``(A_x, Y_x)`` (:meth:`BLSRegressor.partial_fit`), Woodbury:
  ``K = P A_x^T``, ``S = I + A_x K``, ``W += K S^-1 (Y_x - A_x W)``, ``P -= K S^-1 K^T``.
- **New enhancement nodes** ``H_a`` on the samples seen (:meth:`BLSRegressor.add_enhancement_nodes`),
  block inverse: ``D = P A^T H_a``, ``S = H_a^T H_a + lam I - H_a^T A D``,
  ``B = S^-1 H_a^T (Y - A W)``, ``W = [W - D B; B]``, ``P = [[P + D S^-1 D^T, -D S^-1], [-S^-1 D^T, S^-1]]``.

Both equal a ridge solve from scratch with the same nodes on all the samples, to rounding
(``tests/test_attributes_bls.py`` states the tolerance). Standardisation statistics and node
weights are fixed at the first :meth:`~BLSRegressor.fit`; adding enhancement nodes needs the
samples seen in this session (their feature nodes are kept in memory, not saved).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from faceqa.attributes.alpha import AUTO, check_alpha
from faceqa.attributes.ridge import (
    Standardizer,
    check_xy,
    factor_inverse,
    fitted_alpha,
    restore_head,
    ridge_system,
    with_bias,
)
from faceqa.errors import InvalidInputError

MAPPINGS = ("sparse", "identity")


def sparse_projection(d: int, n_nodes: int, rng: np.random.Generator) -> np.ndarray:
    """A very sparse random projection (d, n_nodes): density ``1/sqrt(d)``, nonzeros ``+-1/sqrt(density * d)``."""
    density = 1.0 / np.sqrt(d)
    signs = rng.choice([-1.0, 0.0, 1.0], size=(d, n_nodes), p=[density / 2, 1 - density, density / 2])
    return signs / np.sqrt(density * d)


class BLSRegressor:
    """Broad Learning System regression with ``fit``/``predict``/``partial_fit`` (see the module docstring).

    Args:
        n_windows: groups of mapped feature nodes.
        nodes_per_window: feature nodes per group.
        n_enhancement: enhancement nodes made by :meth:`fit` (0: ridge on the feature nodes).
        alpha: ridge penalty on every output weight except the intercept, or ``"auto"``: chosen by
            leave-one-out error on the samples :meth:`fit` sees (the penalty used is then ``alpha_``).
        enhancement_scale: gain inside ``tanh`` of the enhancement nodes.
        mapping: ``"sparse"`` random projections, or ``"identity"`` (the standardised inputs are the nodes).
        seed: seeds every random weight.
        blocks: column counts of consecutive feature sets, weighted equally
            (:func:`~faceqa.attributes.ridge.block_weights`).
    """

    kind = "bls"

    def __init__(self, n_windows: int = 10, nodes_per_window: int = 30, n_enhancement: int = 600,
                 alpha: float | str = AUTO, enhancement_scale: float = 0.5, mapping: str = "sparse", seed: int = 0,
                 blocks: Sequence[int] | None = None):
        if mapping not in MAPPINGS:
            raise InvalidInputError(f"mapping must be one of {', '.join(MAPPINGS)}, got {mapping!r}")
        if n_windows < 1 or nodes_per_window < 1 or n_enhancement < 0:
            raise InvalidInputError("BLS needs n_windows >= 1, nodes_per_window >= 1 and n_enhancement >= 0")
        self.n_windows = int(n_windows)
        self.nodes_per_window = int(nodes_per_window)
        self.n_enhancement = int(n_enhancement)
        self.alpha = check_alpha(alpha)
        self.enhancement_scale = float(enhancement_scale)
        self.mapping = mapping
        self.seed = int(seed)
        self.blocks = [int(b) for b in blocks] if blocks else None
        self._reset()

    def _reset(self) -> None:
        self.scaler = Standardizer()
        self.node_scaler = Standardizer()
        self.projection: np.ndarray | None = None
        self.enhancement: list[np.ndarray] = []  # one (k+1, m) weight block per addition
        self.coef_: np.ndarray | None = None
        self.alpha_: float | None = None  # the penalty solved with (alpha, or the leave-one-out choice)
        self._p: np.ndarray | None = None  # (A^T A + L)^-1, made from _factor on the first incremental update
        self._factor: tuple | None = None
        self._z: np.ndarray | None = None  # feature nodes of the samples seen (for new enhancement nodes)
        self._y: np.ndarray | None = None

    # -- nodes ---------------------------------------------------------------------------------

    def _raw_nodes(self, x: np.ndarray) -> np.ndarray:
        xs = self.scaler.transform(x)
        return xs if self.projection is None else xs @ self.projection

    def feature_nodes(self, x: np.ndarray) -> np.ndarray:
        """The mapped feature nodes ``Z`` (n, k) of inputs ``x``."""
        z = self._raw_nodes(x)
        return z if self.projection is None else self.node_scaler.transform(z)

    def _block(self, z: np.ndarray, weights: np.ndarray) -> np.ndarray:
        return np.tanh(self.enhancement_scale * (with_bias(z) @ weights))

    def _new_block(self, k: int, m: int) -> np.ndarray:
        rng = np.random.default_rng([self.seed, 1, len(self.enhancement)])
        return rng.standard_normal((k + 1, m)) / np.sqrt(k + 1)

    def nodes_from_z(self, z: np.ndarray) -> np.ndarray:
        """``A = [1, Z, H_1, H_2, ...]`` for feature nodes ``z``."""
        return np.hstack([with_bias(z), *(self._block(z, w) for w in self.enhancement)])

    def nodes(self, x: np.ndarray) -> np.ndarray:
        """The design matrix ``A`` (n, 1 + feature + enhancement nodes) of inputs ``x``."""
        return self.nodes_from_z(self.feature_nodes(x))

    @property
    def n_nodes(self) -> int:
        """Feature plus enhancement nodes (the intercept not counted)."""
        if self.coef_ is None:
            raise InvalidInputError("the BLS is not fitted yet")
        return self.coef_.shape[0] - 1

    # -- learning ------------------------------------------------------------------------------

    def fit(self, x: np.ndarray, y: np.ndarray) -> BLSRegressor:
        """Draw the nodes for inputs like ``x``, choose the penalty (when ``"auto"``) and solve the output weights
        on (x, y)."""
        x, y = check_xy(x, y)
        self._reset()
        self.scaler.fit(x, self.blocks)
        if self.mapping == "sparse":
            rng = np.random.default_rng([self.seed, 0])
            self.projection = np.hstack([sparse_projection(x.shape[1], self.nodes_per_window, rng)
                                         for _ in range(self.n_windows)])
        z = self._raw_nodes(x)
        if self.projection is not None:
            z = self.node_scaler.fit(z).transform(z)
        if self.n_enhancement:
            self.enhancement.append(self._new_block(z.shape[1], self.n_enhancement))
        a = self.nodes_from_z(z)
        self.alpha_ = fitted_alpha(self.alpha, a[:, 1:], y)
        return self._solve(z, y, a)

    def _solve(self, z: np.ndarray, y: np.ndarray, a: np.ndarray | None = None) -> BLSRegressor:
        self._vector = y.shape[1] == 1
        a = self.nodes_from_z(z) if a is None else a
        self.coef_, self._factor = ridge_system(a, y, self.alpha_)
        self._p = None
        self._z, self._y = z, y
        return self

    def fit_weights(self, x: np.ndarray, y: np.ndarray) -> BLSRegressor:
        """Solve the output weights from scratch on (x, y), keeping every node and the penalty ``alpha_`` as they
        are (retraining)."""
        if self.coef_ is None:
            return self.fit(x, y)
        x, y = check_xy(x, y)
        return self._solve(self.feature_nodes(x), y)

    def partial_fit(self, x: np.ndarray, y: np.ndarray) -> BLSRegressor:
        """Learn new samples without solving again (the BLS sample update; the first call fits)."""
        if self.coef_ is None:
            return self.fit(x, y)
        x, y = check_xy(x, y)
        self._need_incremental_state()
        if y.shape[1] != self.coef_.shape[1]:
            raise InvalidInputError(f"{y.shape[1]} targets given, the model was fitted on {self.coef_.shape[1]}")
        z = self.feature_nodes(x)
        a = self.nodes_from_z(z)
        k = self._p @ a.T
        s = np.eye(len(a)) + a @ k
        gain = np.linalg.solve(s, k.T).T  # K S^-1
        self.coef_ = self.coef_ + gain @ (y - a @ self.coef_)
        self._p = self._p - gain @ k.T
        self._p = (self._p + self._p.T) / 2
        self._z, self._y = np.vstack([self._z, z]), np.vstack([self._y, y])
        return self

    def add_enhancement_nodes(self, m: int) -> BLSRegressor:
        """Add ``m`` enhancement nodes, learnt on the samples seen, without solving again (the BLS node update)."""
        if self.coef_ is None:
            raise InvalidInputError("fit the BLS before adding enhancement nodes")
        if m < 1:
            raise InvalidInputError(f"add at least one enhancement node, got {m}")
        self._need_incremental_state()
        a = self.nodes_from_z(self._z)
        block = self._new_block(self._z.shape[1], m)
        h = self._block(self._z, block)
        d = self._p @ (a.T @ h)
        s = h.T @ h + self.alpha_ * np.eye(m) - (h.T @ a) @ d
        s_inv = np.linalg.inv((s + s.T) / 2)
        b = s_inv @ (h.T @ (self._y - a @ self.coef_))
        self.coef_ = np.vstack([self.coef_ - d @ b, b])
        ds = d @ s_inv
        self._p = np.block([[self._p + ds @ d.T, -ds], [-ds.T, s_inv]])
        self.enhancement.append(block)
        return self

    def _need_incremental_state(self) -> None:
        if self._z is None:
            raise InvalidInputError("this BLS was loaded from disk: incremental updates need the model fitted "
                                    "in this session")
        if self._p is None:
            self._p = factor_inverse(self._factor)
            self._factor = None

    def predict(self, x: np.ndarray) -> np.ndarray:
        """Predictions (n,) for one target, (n, t) for several."""
        if self.coef_ is None:
            raise InvalidInputError("the BLS is not fitted yet")
        x, _ = check_xy(x)
        out = self.nodes(x) @ self.coef_
        return out[:, 0] if self._vector else out

    # -- saving --------------------------------------------------------------------------------

    def config(self) -> dict:
        """Constructor arguments to save."""
        return {"n_windows": self.n_windows, "nodes_per_window": self.nodes_per_window,
                "n_enhancement": self.n_enhancement, "alpha": self.alpha,
                "enhancement_scale": self.enhancement_scale, "mapping": self.mapping, "seed": self.seed,
                "blocks": self.blocks}

    def state(self) -> dict[str, np.ndarray]:
        """Arrays that :meth:`predict` needs (not the incremental state)."""
        out = {"coef": self.coef_, "alpha": np.asarray(self.alpha_), "scaler_mean": self.scaler.mean,
               "scaler_scale": self.scaler.scale}
        if self.projection is not None:
            out |= {"projection": self.projection, "node_mean": self.node_scaler.mean,
                    "node_scale": self.node_scaler.scale}
        out |= {f"enhancement_{i}": w for i, w in enumerate(self.enhancement)}
        return out

    @classmethod
    def restore(cls, config: dict, state: dict[str, np.ndarray]) -> BLSRegressor:
        """Rebuild a fitted model from :meth:`config` and :meth:`state`."""
        m = restore_head(cls(**config), state)
        if "projection" in state:
            m.projection = np.asarray(state["projection"])
            m.node_scaler = Standardizer.from_state({"mean": state["node_mean"], "scale": state["node_scale"]})
        m.enhancement = [np.asarray(state[f"enhancement_{i}"])
                         for i in range(sum(k.startswith("enhancement_") for k in state))]
        return m

