"""A small MLP regressor (one hidden layer, torch, full-batch AdamW): the gradient-trained baseline."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from faceqa.attributes.adam import AdamW
from faceqa.attributes.ridge import Standardizer, check_xy


class MLPRegressor:
    """``d -> hidden (ReLU, dropout) -> t`` on standardised inputs and targets.

    Args:
        hidden: hidden units.
        epochs: full-batch AdamW steps.
        lr, weight_decay, dropout: training settings.
        seed: seeds the initial weights and dropout.
        blocks: column counts of consecutive feature sets, weighted equally
            (:func:`~faceqa.attributes.ridge.block_weights`).
    """

    kind = "mlp"

    def __init__(self, hidden: int = 64, epochs: int = 200, lr: float = 2e-3, weight_decay: float = 1e-2,
                 dropout: float = 0.2, seed: int = 0, blocks: Sequence[int] | None = None):
        self.hidden = int(hidden)
        self.epochs = int(epochs)
        self.lr = float(lr)
        self.weight_decay = float(weight_decay)
        self.dropout = float(dropout)
        self.seed = int(seed)
        self.blocks = [int(b) for b in blocks] if blocks else None
        self.scaler = Standardizer()
        self.y_mean: np.ndarray | None = None
        self.y_scale: np.ndarray | None = None
        self.layers: list[np.ndarray] = []

    def fit(self, x: np.ndarray, y: np.ndarray) -> MLPRegressor:
        """Train on (x, y)."""
        import torch

        x, y = check_xy(x, y)
        self._vector = y.shape[1] == 1
        self.scaler.fit(x, self.blocks)
        self.y_mean, std = y.mean(0), y.std(0)
        self.y_scale = np.where(std > 1e-12, std, 1.0)
        torch.manual_seed(self.seed)
        net = torch.nn.Sequential(torch.nn.Linear(x.shape[1], self.hidden), torch.nn.ReLU(),
                                  torch.nn.Dropout(self.dropout), torch.nn.Linear(self.hidden, y.shape[1]))
        xt = torch.as_tensor(self.scaler.transform(x), dtype=torch.float32)
        yt = torch.as_tensor((y - self.y_mean) / self.y_scale, dtype=torch.float32)
        opt = AdamW(net.parameters(), lr=self.lr, weight_decay=self.weight_decay)
        net.train()
        for _ in range(self.epochs):
            loss = torch.mean((net(xt) - yt) ** 2)
            opt.zero_grad()
            loss.backward()
            opt.step()
        self.layers = [t.detach().double().numpy().copy() for t in
                       (net[0].weight, net[0].bias, net[3].weight, net[3].bias)]
        return self

    def predict(self, x: np.ndarray) -> np.ndarray:
        """Predictions (n,) for one target, (n, t) for several."""
        x, _ = check_xy(x)
        w1, b1, w2, b2 = self.layers
        h = np.maximum(self.scaler.transform(x) @ w1.T + b1, 0.0)
        out = (h @ w2.T + b2) * self.y_scale + self.y_mean
        return out[:, 0] if self._vector else out

    def config(self) -> dict:
        """Constructor arguments to save."""
        return {"hidden": self.hidden, "epochs": self.epochs, "lr": self.lr, "weight_decay": self.weight_decay,
                "dropout": self.dropout, "seed": self.seed, "blocks": self.blocks}

    def state(self) -> dict[str, np.ndarray]:
        """Arrays that :meth:`predict` needs."""
        return {"w1": self.layers[0], "b1": self.layers[1], "w2": self.layers[2], "b2": self.layers[3],
                "y_mean": self.y_mean, "y_scale": self.y_scale, "scaler_mean": self.scaler.mean,
                "scaler_scale": self.scaler.scale}

    @classmethod
    def restore(cls, config: dict, state: dict[str, np.ndarray]) -> MLPRegressor:
        """Rebuild a fitted model from :meth:`config` and :meth:`state`."""
        m = cls(**config)
        m.layers = [np.asarray(state[k]) for k in ("w1", "b1", "w2", "b2")]
        m._vector = m.layers[2].shape[0] == 1
        m.y_mean, m.y_scale = np.asarray(state["y_mean"]), np.asarray(state["y_scale"])
        m.scaler = Standardizer.from_state({"mean": state["scaler_mean"], "scale": state["scaler_scale"]})
        return m
