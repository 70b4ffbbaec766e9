"""SFace in torch: the same embeddings as onnxruntime, and gradients down to the input crop."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from faceqa.models import get_model
from faceqa.perception.detection import largest_face
from faceqa.perception.identity import get_embedder
from faceqa.perception.sface import CHAIN, normalize

TOLERANCE = 1e-4
"""Largest allowed 1 - cosine between the torch and onnxruntime embeddings of one crop (measured ~1e-7)."""


@pytest.fixture(scope="module")
def crops(astronaut):
    face = largest_face(astronaut)
    flipped = np.ascontiguousarray(astronaut[:, ::-1])
    embedder = get_embedder("sface")
    return np.concatenate([embedder.crops(astronaut, [face]), embedder.crops(flipped, [largest_face(flipped)])])


def test_torch_matches_onnxruntime(crops, capsys):
    net = get_model("sface_torch")
    assert len(CHAIN) == 27 and not net.training
    with torch.no_grad():
        ours = normalize(net(torch.from_numpy(crops).permute(0, 3, 1, 2).float()).numpy())
    ort = get_embedder("sface").embed_crops(crops)
    diff = float(np.max(np.abs(1 - np.sum(ours * ort, axis=1))))
    with capsys.disabled():
        print(f"\nSFace torch vs onnxruntime: max cosine difference {diff:.2e} on {len(crops)} crops")
    assert diff < TOLERANCE


def test_gradients_reach_the_crop(crops):
    net = get_model("sface_torch")
    x = torch.from_numpy(crops[:1]).permute(0, 3, 1, 2).float().requires_grad_(True)
    target = torch.from_numpy(get_embedder("sface").embed_crops(crops[1:]))
    similarity = torch.nn.functional.cosine_similarity(net(x), target).sum()
    similarity.backward()
    assert x.grad is not None and torch.isfinite(x.grad).all() and x.grad.abs().sum() > 0
    assert all(p.grad is None for p in net.parameters())  # the shared network stays frozen
    top, taps = net.features(x.detach(), taps=("conv_6", "conv_12"))
    assert top.shape == (1, 1024, 7, 7) and taps["conv_6"].shape == (1, 256, 28, 28)
    assert taps["conv_12"].shape == (1, 512, 14, 14)
