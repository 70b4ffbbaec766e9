"""Prototype-augmented fusion of hesitancy cues (the ABAW BAH recipe, trainable here, shipped untrained).

Each modality (face, speech, text, conflict) has an encoder (standardise with the training
statistics, LayerNorm, two-layer MLP) to a shared ``hidden``-wide space. Missing modalities are
masked out; the present ones are fused by attention (a learned query scores each modality's
embedding; softmax over the present ones). Each class has a learned **prototype** in that space;
the logits are a linear head on the fused embedding plus the negative squared distance to each
class prototype (scaled by a learned temperature), and each modality alone is also scored against
the prototypes (an auxiliary loss that keeps every encoder useful when others are missing).
Training (:func:`train`) uses cross-entropy on the fused and per-modality logits, a pull of each
embedding to its class prototype, and modality dropout (a present modality is hidden with
probability ``drop_modality``), so a model trained on full data still answers with parts missing.

A model folder holds ``config.json`` (dimensions, classes, feature names) and ``model.safetensors``
(weights and the standardisation statistics): :meth:`PrototypeFusion.save_pretrained` /
:meth:`PrototypeFusion.from_pretrained`.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch
from torch import nn

from faceqa.torch_threads import one_thread


@dataclass
class FusionConfig:
    """Model dimensions: input width per modality, classes, hidden width."""

    dims: dict[str, int]
    classes: list[str] = field(default_factory=lambda: ["no_hesitancy", "hesitancy"])
    hidden: int = 64
    dropout: float = 0.1
    drop_modality: float = 0.3
    feature_names: dict[str, list[str]] = field(default_factory=dict)


class _Encoder(nn.Module):
    def __init__(self, dim: int, hidden: int, dropout: float):
        super().__init__()
        self.register_buffer("mean", torch.zeros(dim))
        self.register_buffer("std", torch.ones(dim))
        self.net = nn.Sequential(nn.LayerNorm(dim), nn.Linear(dim, hidden), nn.GELU(), nn.Dropout(dropout),
                                 nn.Linear(hidden, hidden))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net((x - self.mean) / self.std)


class PrototypeFusion(nn.Module):
    """Per-modality encoders, attention fusion over the present modalities, class prototypes."""

    def __init__(self, config: FusionConfig):
        super().__init__()
        self.config = config
        self.modalities = sorted(config.dims)
        self.encoders = nn.ModuleDict({m: _Encoder(config.dims[m], config.hidden, config.dropout)
                                       for m in self.modalities})
        self.query = nn.Parameter(torch.randn(config.hidden) / config.hidden ** 0.5)
        self.prototypes = nn.Parameter(torch.randn(len(config.classes), config.hidden) * 0.1)
        self.head = nn.Linear(config.hidden, len(config.classes))
        self.log_temperature = nn.Parameter(torch.zeros(()))

    def proto_logits(self, z: torch.Tensor) -> torch.Tensor:
        """Negative squared distance of embeddings (B, H) to each prototype, scaled: (B, C)."""
        return -(z.unsqueeze(1) - self.prototypes.unsqueeze(0)).pow(2).sum(-1) * self.log_temperature.exp()

    def forward(self, inputs: dict[str, torch.Tensor], present: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """``inputs[m]`` (B, dims[m]) and ``present[m]`` (B,) bool for each modality; returns ``logits``
        (B, C), ``embedding`` (B, H), ``weights`` (B, M) and per-modality ``embeddings`` (B, M, H)."""
        z = torch.stack([self.encoders[m](inputs[m]) for m in self.modalities], dim=1)
        mask = torch.stack([present[m] for m in self.modalities], dim=1)
        scores = (z @ self.query) / z.shape[-1] ** 0.5
        scores = scores.masked_fill(~mask, float("-inf"))
        weights = torch.softmax(scores, dim=1)
        weights = torch.nan_to_num(weights, nan=0.0)  # a row with no modality at all
        fused = (weights.unsqueeze(-1) * z).sum(1)
        logits = self.head(fused) + self.proto_logits(fused)
        return {"logits": logits, "embedding": fused, "weights": weights, "embeddings": z, "mask": mask}

    def save_pretrained(self, folder: str | os.PathLike) -> Path:
        """Write ``config.json`` and ``model.safetensors`` into ``folder``."""
        from safetensors.torch import save_file

        out = Path(folder)
        out.mkdir(parents=True, exist_ok=True)
        (out / "config.json").write_text(json.dumps(asdict(self.config), indent=2))
        save_file({k: v.contiguous() for k, v in self.state_dict().items()}, str(out / "model.safetensors"))
        return out

    @classmethod
    def from_pretrained(cls, folder: str | os.PathLike) -> PrototypeFusion:
        """Load a folder written by :meth:`save_pretrained`."""
        from safetensors.torch import load_file

        from faceqa.errors import ModelUnavailableError

        p = Path(folder)
        if not (p / "config.json").is_file() or not (p / "model.safetensors").is_file():
            raise ModelUnavailableError(f"{p}: not a hesitancy model folder (config.json + model.safetensors)")
        model = cls(FusionConfig(**json.loads((p / "config.json").read_text())))
        model.load_state_dict(load_file(str(p / "model.safetensors")))
        model.eval()
        return model


def batch(rows: list[dict[str, np.ndarray | None]], dims: dict[str, int]
          ) -> tuple[dict[str, torch.Tensor], dict[str, torch.Tensor]]:
    """Stack per-sample modality vectors (None = missing) into inputs and presence masks."""
    inputs, present = {}, {}
    for m, d in dims.items():
        inputs[m] = torch.tensor(np.stack([r[m] if r.get(m) is not None else np.zeros(d, np.float32)
                                           for r in rows]), dtype=torch.float32)
        present[m] = torch.tensor([r.get(m) is not None for r in rows])
    return inputs, present


def _fit_scaler(model: PrototypeFusion, inputs: dict[str, torch.Tensor], present: dict[str, torch.Tensor]) -> None:
    for m in model.modalities:
        x = inputs[m][present[m]]
        if len(x) > 1:
            model.encoders[m].mean.copy_(x.mean(0))
            model.encoders[m].std.copy_(x.std(0).clamp_min(1e-3))


def train(model: PrototypeFusion, rows: list[dict[str, np.ndarray | None]], labels: list[int], epochs: int = 200,
          lr: float = 3e-3, weight_decay: float = 1e-3, pull: float = 0.1, seed: int = 0) -> list[float]:
    """Full-batch AdamW training; returns the loss per epoch."""
    with one_thread():
        return _train(model, rows, labels, epochs, lr, weight_decay, pull, seed)


def _train(model: PrototypeFusion, rows: list[dict[str, np.ndarray | None]], labels: list[int], epochs: int,
           lr: float, weight_decay: float, pull: float, seed: int) -> list[float]:
    torch.manual_seed(seed)
    inputs, present = batch(rows, model.config.dims)
    y = torch.tensor(labels, dtype=torch.long)
    _fit_scaler(model, inputs, present)
    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=weight_decay)
    ce = nn.CrossEntropyLoss()
    losses = []
    model.train()
    for _ in range(epochs):
        keep = {m: present[m] & (torch.rand(len(y)) >= model.config.drop_modality) for m in model.modalities}
        none = ~torch.stack(list(keep.values()), 1).any(1)
        for m in model.modalities:  # never hide every modality of a sample
            keep[m] = keep[m] | (none & present[m])
        out = model(inputs, keep)
        loss = ce(out["logits"], y) + pull * (out["embedding"] - model.prototypes[y]).pow(2).sum(1).mean()
        z, mask = out["embeddings"], out["mask"]
        for i in range(z.shape[1]):
            if mask[:, i].any():
                loss = loss + 0.5 * ce(model.proto_logits(z[mask[:, i], i]), y[mask[:, i]]) / z.shape[1]
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(float(loss.detach()))
    model.eval()
    return losses


@torch.no_grad()
def predict(model: PrototypeFusion, rows: list[dict[str, np.ndarray | None]]) -> np.ndarray:
    """Class probabilities (N, C)."""
    model.eval()
    inputs, present = batch(rows, model.config.dims)
    with one_thread():
        return torch.softmax(model(inputs, present)["logits"], dim=1).numpy()


def macro_f1(y_true: np.ndarray, y_pred: np.ndarray, n_classes: int) -> float:
    """Unweighted mean F1 over classes (ABAW's MF1)."""
    f1 = []
    for c in range(n_classes):
        tp = np.sum((y_pred == c) & (y_true == c))
        fp = np.sum((y_pred == c) & (y_true != c))
        fn = np.sum((y_pred != c) & (y_true == c))
        f1.append(2 * tp / max(1, 2 * tp + fp + fn))
    return float(np.mean(f1))
