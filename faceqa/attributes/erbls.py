"""ER-BLS: a connection layer trained end to end in torch, then a BLS solved in closed form on its outputs.

The connection layer ``C = tanh(X_s W_c + b_c)`` (X_s the standardised inputs, ``connection_dim``
outputs) sits between the feature extractor and the BLS. It is trained through a closed-form ridge
read-out: each step draws a batch, solves ridge weights on one half of it (``torch.linalg.solve``,
differentiable) and takes the mean squared error of that read-out on the other half, so the layer
learns outputs that a linear solve generalises from, which is what the BLS does next. Afterwards
the layer is frozen and :class:`~faceqa.attributes.bls.BLSRegressor` is fitted on ``C``; new samples
and enhancement nodes go to that BLS incrementally (the connection layer stays as trained).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from faceqa.attributes.adam import AdamW
from faceqa.attributes.bls import BLSRegressor
from faceqa.attributes.ridge import Standardizer, check_xy
from faceqa.errors import InvalidInputError


def train_connection(xs: np.ndarray, ys: np.ndarray, dim: int, steps: int, lr: float, alpha: float,
                     weight_decay: float, batch: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Weights (d, dim) and bias (dim,) of a tanh layer trained through a per-batch closed-form ridge read-out.

    ``xs`` (n, d) and ``ys`` (n, t) are standardised; returns float64 numpy arrays.
    """
    import torch

    gen = torch.Generator().manual_seed(seed)
    x = torch.as_tensor(xs, dtype=torch.float32)
    y = torch.as_tensor(ys, dtype=torch.float32)
    layer = torch.nn.Linear(x.shape[1], dim)
    with torch.no_grad():
        layer.weight.normal_(0.0, 1.0 / np.sqrt(x.shape[1]), generator=gen)
        layer.bias.zero_()
    opt = AdamW(layer.parameters(), lr=lr, weight_decay=weight_decay)
    penalty = torch.full((dim + 1,), float(alpha))
    penalty[0] = 0.0
    n = len(x)
    size = min(batch, n)
    for _ in range(steps):
        idx = torch.randperm(n, generator=gen)[:size]
        h = torch.tanh(layer(x[idx]))
        a = torch.cat([torch.ones(len(h), 1), h], dim=1)
        half = size // 2
        fit_a, fit_y, test_a, test_y = a[:half], y[idx[:half]], a[half:], y[idx[half:]]
        w = torch.linalg.solve(fit_a.T @ fit_a + torch.diag(penalty), fit_a.T @ fit_y)
        loss = torch.mean((test_a @ w - test_y) ** 2)
        opt.zero_grad()
        loss.backward()
        opt.step()
    return layer.weight.detach().double().numpy().T.copy(), layer.bias.detach().double().numpy().copy()


class ERBLSRegressor:
    """Connection layer (trained in torch) + :class:`BLSRegressor` (closed form); see the module docstring.

    Args:
        connection_dim: outputs of the connection layer.
        steps, lr, weight_decay, batch: its training (AdamW, ``steps`` batches of ``batch`` samples).
        connection_alpha: ridge penalty of the read-out used while training it.
        bls: keyword arguments of the BLS fitted on its outputs.
        seed: seeds the connection layer and the BLS.
        blocks: column counts of consecutive feature sets, weighted equally
            (:func:`~faceqa.attributes.ridge.block_weights`).
    """

    kind = "erbls"

    def __init__(self, connection_dim: int = 128, steps: int = 100, lr: float = 3e-3, weight_decay: float = 1e-3,
                 batch: int = 256, connection_alpha: float = 1.0, bls: dict | None = None, seed: int = 0,
                 blocks: Sequence[int] | None = None):
        if connection_dim < 1 or steps < 0 or batch < 4:
            raise InvalidInputError("ER-BLS needs connection_dim >= 1, steps >= 0 and batch >= 4")
        self.connection_dim = int(connection_dim)
        self.steps = int(steps)
        self.lr = float(lr)
        self.weight_decay = float(weight_decay)
        self.batch = int(batch)
        self.connection_alpha = float(connection_alpha)
        self.bls_config = dict(bls or {})
        self.seed = int(seed)
        self.blocks = [int(b) for b in blocks] if blocks else None
        self.scaler = Standardizer()
        self.weight: np.ndarray | None = None
        self.bias: np.ndarray | None = None
        self.bls = BLSRegressor(**self.bls_config, seed=seed)

    @property
    def alpha_(self) -> float | None:
        """The ridge penalty of the BLS read-out (None before fitting)."""
        return self.bls.alpha_

    def connect(self, x: np.ndarray) -> np.ndarray:
        """The connection layer's outputs (n, connection_dim) for inputs ``x``."""
        if self.weight is None:
            raise InvalidInputError("the ER-BLS is not fitted yet")
        return np.tanh(self.scaler.transform(x) @ self.weight + self.bias)

    def fit(self, x: np.ndarray, y: np.ndarray) -> ERBLSRegressor:
        """Train the connection layer on (x, y), then fit the BLS on its outputs."""
        x, y = check_xy(x, y)
        self.scaler.fit(x, self.blocks)
        ys = (y - y.mean(0)) / np.where(y.std(0) > 1e-12, y.std(0), 1.0)
        self.weight, self.bias = train_connection(self.scaler.transform(x), ys, self.connection_dim, self.steps,
                                                  self.lr, self.connection_alpha, self.weight_decay, self.batch,
                                                  self.seed)
        self.bls.fit(self.connect(x), y)
        return self

    def partial_fit(self, x: np.ndarray, y: np.ndarray) -> ERBLSRegressor:
        """New samples into the BLS incrementally (the first call fits everything)."""
        if self.weight is None:
            return self.fit(x, y)
        x, y = check_xy(x, y)
        self.bls.partial_fit(self.connect(x), y)
        return self

    def add_enhancement_nodes(self, m: int) -> ERBLSRegressor:
        """Add ``m`` enhancement nodes to the BLS incrementally."""
        self.bls.add_enhancement_nodes(m)
        return self

    def predict(self, x: np.ndarray) -> np.ndarray:
        """Predictions (n,) for one target, (n, t) for several."""
        x, _ = check_xy(x)
        return self.bls.predict(self.connect(x))

    def config(self) -> dict:
        """Constructor arguments to save."""
        return {"connection_dim": self.connection_dim, "steps": self.steps, "lr": self.lr,
                "weight_decay": self.weight_decay, "batch": self.batch, "connection_alpha": self.connection_alpha,
                "bls": self.bls_config, "seed": self.seed, "blocks": self.blocks}

    def state(self) -> dict[str, np.ndarray]:
        """Arrays that :meth:`predict` needs."""
        return {"connection_weight": self.weight, "connection_bias": self.bias, "scaler_mean": self.scaler.mean,
                "scaler_scale": self.scaler.scale, **{f"bls_{k}": v for k, v in self.bls.state().items()}}

    @classmethod
    def restore(cls, config: dict, state: dict[str, np.ndarray]) -> ERBLSRegressor:
        """Rebuild a fitted model from :meth:`config` and :meth:`state`."""
        m = cls(**config)
        m.weight, m.bias = np.asarray(state["connection_weight"]), np.asarray(state["connection_bias"])
        m.scaler = Standardizer.from_state({"mean": state["scaler_mean"], "scale": state["scaler_scale"]})
        m.bls = BLSRegressor.restore({**m.bls_config, "seed": m.seed},
                                     {k[4:]: v for k, v in state.items() if k.startswith("bls_")})
        return m
