"""MGE-EFP: the Multi-Granularity Evidence-Enhanced Fusion Projector (AULLM++).

Mid-level cues (one token per FACS region and side: displacement and motion magnitude) and
high-level semantics (AU strengths, expression probabilities, geometry, and optionally a vision
encoder's embedding of the aligned face crops, :mod:`faceqa.aullm.vision`) are embedded separately;
``k`` learned queries attend over both granularities, and a gate mixes the attended evidence with
the high-level summary, per query, before a two-layer MLP maps each query into the LLM's
embedding space. The result is ``k`` Content Tokens (CT).
"""

from __future__ import annotations

import torch
from torch import nn


class MGEEFP(nn.Module):
    """Evidence -> ``n_tokens`` content tokens of size ``llm_dim``."""

    def __init__(self, n_regions: int, mid_dim: int, high_dim: int, llm_dim: int, hidden: int = 128,
                 n_tokens: int = 4, heads: int = 4, dropout: float = 0.1, vision_dim: int = 0):
        super().__init__()
        self.vision_in = nn.Sequential(nn.LayerNorm(vision_dim), nn.Linear(vision_dim, hidden)) if vision_dim else None
        self.mid_in = nn.Sequential(nn.Linear(mid_dim, hidden), nn.GELU(), nn.Linear(hidden, hidden))
        self.region = nn.Parameter(torch.randn(n_regions, hidden) * 0.02)
        self.high_in = nn.Sequential(nn.LayerNorm(high_dim), nn.Linear(high_dim, hidden), nn.GELU(),
                                     nn.Linear(hidden, hidden))
        self.queries = nn.Parameter(torch.randn(n_tokens, hidden) * 0.02)
        self.attend = nn.MultiheadAttention(hidden, heads, dropout=dropout, batch_first=True)
        self.gate = nn.Linear(2 * hidden, hidden)
        self.norm = nn.LayerNorm(hidden)
        self.out = nn.Sequential(nn.Linear(hidden, hidden * 2), nn.GELU(), nn.Linear(hidden * 2, llm_dim))

    def forward(self, mid: torch.Tensor, high: torch.Tensor, vision: torch.Tensor | None = None) -> torch.Tensor:
        """mid (B, R, mid_dim), high (B, high_dim), vision (B, vision_dim) -> content tokens (B, n_tokens, llm_dim)."""
        b = mid.shape[0]
        mid_tokens = self.mid_in(mid) + self.region
        high_token = self.high_in(high).unsqueeze(1)
        if self.vision_in is not None and vision is not None:
            high_token = high_token + self.vision_in(vision).unsqueeze(1)
        memory = torch.cat([mid_tokens, high_token], dim=1)
        q = self.queries.unsqueeze(0).expand(b, -1, -1)
        attended, _ = self.attend(q, memory, memory, need_weights=False)
        h = high_token.expand_as(attended)
        g = torch.sigmoid(self.gate(torch.cat([attended, h], dim=-1)))
        fused = self.norm(q + g * attended + (1 - g) * h)
        return self.out(fused)
