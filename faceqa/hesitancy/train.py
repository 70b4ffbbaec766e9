"""Training the hesitancy fusion model on a BAH-format folder (``faceqa train-hesitancy``)."""

from __future__ import annotations

import os

import numpy as np


def train_on_folder(data: str | os.PathLike, out: str | os.PathLike, epochs: int = 300, hidden: int = 64,
                    lr: float = 3e-3, seed: int = 0, measure=None) -> dict:
    """Train on the ``train`` split of ``data`` (:func:`~faceqa.hesitancy.data.load_bah`), report macro F1
    on ``val``, and save the model in ``out``."""
    from faceqa.errors import InvalidInputError
    from faceqa.hesitancy.data import dims_of, load_bah
    from faceqa.hesitancy.model import FusionConfig, PrototypeFusion, macro_f1, predict, train

    samples, classes = load_bah(data, measure=measure, seed=seed)
    tr = [s for s in samples if s.split == "train"]
    va = [s for s in samples if s.split == "val"]
    if not tr:
        raise InvalidInputError(f"{data}: no video in the train split")
    dims = dims_of(tr)
    if not dims:
        raise InvalidInputError(f"{data}: no modality was measured in any training video")
    import torch

    torch.manual_seed(seed)
    model = PrototypeFusion(FusionConfig(dims=dims, classes=classes, hidden=hidden))
    losses = train(model, [s.vectors for s in tr], [s.label for s in tr], epochs=epochs, lr=lr, seed=seed)
    f1 = None
    if va:
        pred = predict(model, [s.vectors for s in va]).argmax(1)
        f1 = round(macro_f1(np.array([s.label for s in va]), pred, len(classes)), 4)
    model.save_pretrained(out)
    return {"out": str(out), "classes": classes, "train": len(tr), "val": len(va), "epochs": epochs,
            "final_loss": losses[-1], "val_macro_f1": f1, "modalities": dims}
