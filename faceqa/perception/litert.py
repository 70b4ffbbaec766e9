"""A thin wrapper around Google's LiteRT interpreter (``ai-edge-litert``) for .tflite models."""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from faceqa.errors import ModelUnavailableError


class TFLiteModel:
    """One loaded .tflite model with a single input; calling it returns every output tensor."""

    def __init__(self, path: str | Path, num_threads: int = 1):
        try:
            from ai_edge_litert.interpreter import Interpreter
        except ImportError:  # pragma: no cover - depends on the environment
            raise ModelUnavailableError("LiteRT runtime missing: run `pip install ai-edge-litert`") from None
        self.path = Path(path)
        try:
            with _native_stderr_silenced():
                self._it = Interpreter(model_path=str(self.path), num_threads=num_threads)
                self._it.allocate_tensors()
                inp = self._it.get_input_details()[0]
                self._it.set_tensor(inp["index"], np.zeros(inp["shape"], np.float32))
                self._it.invoke()  # warm-up; LiteRT logs its delegate choice here
        except (ValueError, RuntimeError) as exc:
            raise ModelUnavailableError(f"{self.path}: not a loadable .tflite model ({exc})") from None
        self._input_index = inp["index"]
        self.input_shape = tuple(int(v) for v in inp["shape"])
        self._outputs = [d["index"] for d in self._it.get_output_details()]

    def __call__(self, x: np.ndarray) -> list[np.ndarray]:
        """Run the model on ``x`` (already shaped like ``input_shape``, float32)."""
        self._it.set_tensor(self._input_index, np.ascontiguousarray(x, dtype=np.float32))
        self._it.invoke()
        return [self._it.get_tensor(i) for i in self._outputs]


@contextlib.contextmanager
def _native_stderr_silenced() -> Iterator[None]:
    """Hide what native code writes to fd 2 (LiteRT's "Created XNNPACK delegate" INFO line)."""
    try:
        fd = sys.stderr.fileno()
    except (AttributeError, OSError, ValueError):
        yield
        return
    sys.stderr.flush()
    saved = os.dup(fd)
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, fd)
        yield
    finally:
        os.dup2(saved, fd)
        os.close(saved)
        os.close(devnull)
