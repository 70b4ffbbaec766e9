"""AdamW in a few lines, for the small torch models here.

``torch.optim`` imports ``torch._dynamo`` when the first optimiser is made, which costs seconds
(tens of seconds on a busy CPU) for models that train in well under a second; this is the same
update (Loshchilov and Hutter's decoupled weight decay, bias-corrected moments).
"""

from __future__ import annotations

from collections.abc import Sequence


class AdamW:
    """AdamW over ``params`` (tensors with ``requires_grad``): call :meth:`step` after ``backward``."""

    def __init__(self, params: Sequence, lr: float = 1e-3, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 1e-2):
        import torch

        self.params = list(params)
        self.lr, self.betas, self.eps, self.weight_decay = lr, betas, eps, weight_decay
        self.m = [torch.zeros_like(p) for p in self.params]
        self.v = [torch.zeros_like(p) for p in self.params]
        self.t = 0

    def zero_grad(self) -> None:
        """Forget the gradients of the last backward pass."""
        for p in self.params:
            p.grad = None

    def step(self) -> None:
        """One update from the current gradients."""
        import torch

        self.t += 1
        b1, b2 = self.betas
        with torch.no_grad():
            for p, m, v in zip(self.params, self.m, self.v, strict=True):
                if p.grad is None:
                    continue
                m.mul_(b1).add_(p.grad, alpha=1 - b1)
                v.mul_(b2).addcmul_(p.grad, p.grad, value=1 - b2)
                p.mul_(1 - self.lr * self.weight_decay)
                denom = (v / (1 - b2**self.t)).sqrt_().add_(self.eps)
                p.addcdiv_(m, denom, value=-self.lr / (1 - b1**self.t))
