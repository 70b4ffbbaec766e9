"""SFace in torch: the same embeddings as onnxruntime, and gradients down to the input crop."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from faceqa.models import get_model
from faceqa.perception.detection import largest_face
from faceqa.perception.identity import get_embedder
from faceqa.perception.sface import CHAIN, TorchSFace, load_runtime, normalize

TOLERANCE = 1e-4
"""Largest allowed 1 - cosine between the torch and onnxruntime embeddings of one crop (measured ~1e-7)."""

BF16_TOLERANCE = 1e-3
"""The same for the bfloat16 runtime (measured ~1e-4 on the deepface photos)."""


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


@pytest.mark.parametrize(("runtime", "tolerance"), [("torch", TOLERANCE), ("torch-bf16", BF16_TOLERANCE)])
def test_runtimes_give_the_same_embeddings(crops, runtime, tolerance, monkeypatch):
    from faceqa.models import model_path

    ort = get_embedder("sface").embed_crops(crops)
    monkeypatch.setenv("FACEQA_SFACE_RUNTIME", runtime)
    net = load_runtime(model_path("sface"))
    assert isinstance(net, TorchSFace) and net.precision == ("bf16" if runtime.endswith("bf16") else "fp32")
    net.batch = 1  # two calls, then joined: batching must not change what comes out
    ours = net(crops)
    assert ours.shape == (len(crops), 128) and ours.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(ours, axis=1), 1, atol=1e-5)
    assert float(np.max(1 - np.sum(ours * ort, axis=1))) < tolerance
    assert net(crops[:0]).shape == (0, 128)


def test_unknown_runtime_is_named(monkeypatch):
    from faceqa.models import model_path

    monkeypatch.setenv("FACEQA_SFACE_RUNTIME", "tensorrt")
    with pytest.raises(ValueError, match="tensorrt.*onnx, torch, torch-bf16"):
        load_runtime(model_path("sface"))
