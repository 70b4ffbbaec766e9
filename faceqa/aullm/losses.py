"""Losses: asymmetric loss for multi-label AUs (Ridnik et al., ICCV 2021), as AU-LLM used."""

from __future__ import annotations

import torch


def asymmetric_loss(logits: torch.Tensor, targets: torch.Tensor, gamma_pos: float = 0.0, gamma_neg: float = 4.0,
                    clip: float = 0.05, eps: float = 1e-8) -> torch.Tensor:
    """Mean asymmetric loss over all (sample, label) pairs.

    Negatives are down-weighted by ``p^gamma_neg`` after shifting their probability down by
    ``clip`` (easy negatives, the vast majority among AUs, then count little); positives by
    ``(1-p)^gamma_pos``.
    """
    p = torch.sigmoid(logits)
    p_neg = (p - clip).clamp(min=0) if clip > 0 else p
    loss_pos = targets * torch.log(p.clamp(min=eps)) * (1 - p) ** gamma_pos
    loss_neg = (1 - targets) * torch.log((1 - p_neg).clamp(min=eps)) * p_neg ** gamma_neg
    return -(loss_pos + loss_neg).mean()
