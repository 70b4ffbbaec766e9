"""A compact Kolmogorov-Arnold Network (KAN) layer: a learnable B-spline on every input-output edge.

Each edge (input i -> output j) carries ``phi_ij(x) = w_ij * silu(x) + sum_k c_ijk B_k(x)``, with
``B_k`` the cubic (``order``) B-splines on a uniform grid over ``[low, high]``; an output sums its
edges. Outside the grid the splines vanish and only the ``silu`` part remains. (Our own layer, in
place of ``pykan``: the part the embedding mapping needs, with no extra dependency.)
"""

from __future__ import annotations

import math

import torch
from torch import nn


class KANLayer(nn.Module):
    """``n_in`` -> ``n_out`` KAN layer with ``grid`` intervals of B-splines of degree ``order``."""

    def __init__(self, n_in: int, n_out: int, grid: int = 8, order: int = 3, low: float = -3.0,
                 high: float = 3.0, seed: int | None = None):
        super().__init__()
        if grid < 1 or order < 0 or high <= low:
            raise ValueError("KANLayer: grid >= 1, order >= 0 and high > low")
        gen = torch.Generator().manual_seed(seed) if seed is not None else None
        step = (high - low) / grid
        self.order = order
        self.register_buffer("knots", low + step * torch.arange(-order, grid + order + 1, dtype=torch.float32))
        self.coef = nn.Parameter(0.1 * torch.randn(n_out, n_in, grid + order, generator=gen) / math.sqrt(n_in))
        self.base = nn.Parameter(torch.randn(n_out, n_in, generator=gen) / math.sqrt(n_in))

    def bases(self, x: torch.Tensor) -> torch.Tensor:
        """B-spline values (N, n_in, grid + order) at inputs (N, n_in), by Cox-de Boor's recursion."""
        t = self.knots
        x = x[..., None]
        b = ((x >= t[:-1]) & (x < t[1:])).to(x.dtype)
        for k in range(1, self.order + 1):
            n = b.shape[-1]
            left = (x - t[:n - 1]) / (t[k:k + n - 1] - t[:n - 1])
            right = (t[k + 1:k + n] - x) / (t[k + 1:k + n] - t[1:n])
            b = left * b[..., :-1] + right * b[..., 1:]
        return b

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Outputs (N, n_out) of inputs (N, n_in)."""
        spline = torch.einsum("nib,oib->no", self.bases(x), self.coef)
        return spline + nn.functional.silu(x) @ self.base.T


class KAN(nn.Sequential):
    """KAN layers of the given widths, e.g. ``KAN([128, 32, 128])``."""

    def __init__(self, widths: list[int], grid: int = 8, order: int = 3, low: float = -3.0, high: float = 3.0,
                 seed: int | None = 0):
        super().__init__(*(KANLayer(a, b, grid, order, low, high, None if seed is None else seed + i)
                           for i, (a, b) in enumerate(zip(widths[:-1], widths[1:], strict=True))))
