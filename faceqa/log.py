"""What the command line prints besides its results: faceqa's messages, and other libraries' only when asked.

faceqa's modules log to the ``faceqa`` logger (``logging.getLogger(__name__)``) and never configure
logging themselves: as a library, that is the application's choice. The ``faceqa`` command calls
:func:`configure` with its ``-v``/``-q`` count:

=========  ==========================================================================================
``-q``     faceqa's errors only
(default)  faceqa's warnings and errors; nothing from other libraries (their log records, Python
           warnings such as deprecation notices, transformers' weight-loading progress bars)
``-v``     faceqa's progress messages too, and other libraries' warnings
``-vv``    everything, down to debug messages, with transformers' progress bars
=========  ==========================================================================================
"""

from __future__ import annotations

import logging
import os
import sys

LEVELS = {-1: logging.ERROR, 0: logging.WARNING, 1: logging.INFO, 2: logging.DEBUG}
"""Level of the ``faceqa`` logger per verbosity."""

_OWN = "faceqa_cli"
"""Marks the handlers :func:`configure` installs, so a second call replaces them."""


def _handler(handler: logging.Handler, fmt: str | None = None) -> logging.Handler:
    handler.set_name(_OWN)
    if fmt:
        handler.setFormatter(logging.Formatter(fmt))
    return handler


def _replace_handler(logger: logging.Logger, handler: logging.Handler) -> None:
    for old in [h for h in logger.handlers if h.get_name() == _OWN]:
        logger.removeHandler(old)
    logger.addHandler(handler)


def configure(verbosity: int = 0) -> None:
    """Set up logging for the command line (see the module docstring); ``verbosity`` is ``-v`` count minus ``-q``."""
    verbosity = max(-1, min(2, verbosity))
    own = logging.getLogger("faceqa")
    own.setLevel(LEVELS[verbosity])
    own.propagate = False
    _replace_handler(own, _handler(logging.StreamHandler(sys.stderr), "faceqa: %(message)s"))
    root = logging.getLogger()
    if verbosity < 1:  # a handler that drops everything also keeps logging's last-resort printer quiet
        _replace_handler(root, _handler(logging.NullHandler()))
    else:
        _replace_handler(root, _handler(logging.StreamHandler(sys.stderr), "%(name)s: %(levelname)s: %(message)s"))
        root.setLevel(logging.WARNING if verbosity == 1 else logging.DEBUG)
    logging.captureWarnings(True)  # warnings.warn -> the "py.warnings" logger -> the root handler above
    opencv_level = 2 if verbosity < 1 else 3 if verbosity == 1 else 4  # OpenCV: 2 errors, 3 warnings, 4 info
    os.environ.setdefault("OPENCV_LOG_LEVEL", {2: "ERROR", 3: "WARNING", 4: "INFO"}[opencv_level])
    if "cv2" in sys.modules:
        sys.modules["cv2"].utils.logging.setLogLevel(opencv_level)
    transformers_level = "error" if verbosity < 1 else "warning" if verbosity == 1 else "info"
    show_bars = verbosity >= 2
    if "transformers" in sys.modules:  # already imported: its settings were read from the environment
        from transformers.utils import logging as hf_logging

        hf_logging.set_verbosity(hf_logging.log_levels[transformers_level])
        (hf_logging.enable_progress_bar if show_bars else hf_logging.disable_progress_bar)()
    else:  # read when transformers and huggingface_hub are imported; the user's own settings win
        os.environ.setdefault("TRANSFORMERS_VERBOSITY", transformers_level)
        os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "0" if show_bars else "1")
