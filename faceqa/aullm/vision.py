"""Pluggable vision encoders for the high-level branch of MGE-EFP.

Any Hugging Face image or video encoder, by local path or hub id through the Auto classes (a
CLIP or SigLIP image tower, a ViT, a VideoMAE...), embeds the aligned face crops of a clip (its
first frame and its apex, from :func:`faceqa.evidence.extract.extract_evidence` with
``keep_faces=True``); the embedding joins the projector's high-level semantics as one more token.
Image encoders embed each crop and the embeddings are averaged with their difference (apex minus
onset: the change); video encoders take the crops as a clip. The encoder is frozen unless the
config says otherwise. Nothing is downloaded here: a hub id works where the user's Hugging Face
cache or network has it.
"""

from __future__ import annotations

import torch
from torch import nn

from faceqa.errors import ModelUnavailableError

VIDEO_TYPES = ("videomae", "vivit", "timesformer", "video_llava")


def load_vision_model(name_or_path: str) -> nn.Module:
    """The vision part of a Hugging Face model (``AutoModel``; a CLIP/SigLIP model gives its vision tower)."""
    from transformers import AutoModel

    try:
        model = AutoModel.from_pretrained(name_or_path)
    except (OSError, ValueError) as exc:
        raise ModelUnavailableError(f"vision encoder {name_or_path!r} cannot be loaded ({str(exc).splitlines()[0]})") \
            from None
    return getattr(model, "vision_model", model)


class FaceVisionEncoder(nn.Module):
    """Aligned gray face crops (B, K, H, W) in [0, 255] -> one embedding per clip (B, ``dim``)."""

    def __init__(self, model: nn.Module, trainable: bool = False):
        super().__init__()
        self.model = model
        cfg = model.config
        self.video = getattr(cfg, "model_type", "") in VIDEO_TYPES
        self.image_size = int(getattr(cfg, "image_size", 224))
        self.frames = int(getattr(cfg, "num_frames", 2)) if self.video else None
        self.dim = int(getattr(cfg, "hidden_size", 0) or getattr(cfg, "projection_dim", 0))
        if not self.dim:
            raise ModelUnavailableError(f"vision encoder {type(model).__name__}: config has no hidden_size")
        for p in self.model.parameters():
            p.requires_grad_(trainable)

    def _pixels(self, crops: torch.Tensor) -> torch.Tensor:
        b, k, h, w = crops.shape
        x = crops.float().div(255.0).reshape(b * k, 1, h, w)
        x = nn.functional.interpolate(x, size=(self.image_size, self.image_size), mode="bilinear",
                                      align_corners=False)
        x = (x - 0.5) / 0.5
        return x.expand(-1, 3, -1, -1).reshape(b, k, 3, self.image_size, self.image_size)

    def _embed(self, pixel_values: torch.Tensor) -> torch.Tensor:
        out = self.model(pixel_values=pixel_values)
        pooled = getattr(out, "pooler_output", None)
        return pooled if pooled is not None else out.last_hidden_state.mean(dim=1)

    def forward(self, crops: torch.Tensor) -> torch.Tensor:
        """crops (B, K, H, W) uint8/float -> (B, dim)."""
        pixels = self._pixels(crops.to(next(self.model.parameters()).device))
        b, k = pixels.shape[:2]
        if self.video:
            idx = torch.linspace(0, k - 1, self.frames, device=pixels.device).round().long()
            return self._embed(pixels[:, idx])
        emb = self._embed(pixels.reshape(b * k, *pixels.shape[2:])).reshape(b, k, -1)
        return emb.mean(dim=1) + (emb[:, -1] - emb[:, 0])
