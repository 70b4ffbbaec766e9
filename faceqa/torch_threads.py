"""Running torch on a set number of CPU threads for a while (small problems are slower split across threads)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def torch_threads(threads: int) -> Iterator[None]:
    """Run torch on ``threads`` CPU threads (at least one) inside, then restore its thread count."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(max(1, int(threads)))
    try:
        yield
    finally:
        torch.set_num_threads(before)


def one_thread():
    """Run torch on one thread inside, then restore its thread count."""
    return torch_threads(1)
