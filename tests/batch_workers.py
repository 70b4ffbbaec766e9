"""A worker without models for the batch tests (its own small module: worker processes import it)."""

from __future__ import annotations


class Square:
    """Squares a number; fails on a negative one."""

    def run(self, task: int) -> int:
        """The square of ``task``."""
        if task < 0:
            raise ValueError(f"negative: {task}")
        return task * task
