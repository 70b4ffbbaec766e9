"""The errors faceqa raises. Each names the input and the problem in one line.

Every error a user can cause (bad path, corrupt file, missing model, wrong field) is a
``FaceQAError`` subclass; the CLI prints its message on one line and exits with code 2.
"""

from __future__ import annotations


class FaceQAError(Exception):
    """Base class: a problem with the user's input, data or environment (not a bug)."""


class MediaNotFoundError(FaceQAError, FileNotFoundError):
    """The media path does not exist."""


class MediaReadError(FaceQAError):
    """The media exists but cannot be read (permissions, unknown format, corrupt data)."""


class EmptyMediaError(FaceQAError):
    """The media holds no frames (empty file, empty folder, frame range selects nothing)."""


class NoAudioError(FaceQAError):
    """The media has no audio track (a still, a frame folder, or a video without sound)."""


class NoFaceError(FaceQAError):
    """No face was found where one is needed."""


class ModelUnavailableError(FaceQAError):
    """A model file is missing: names the wheel to install or the path to set."""


class IncompatibleBundleError(ModelUnavailableError):
    """An adapter bundle was built for other feature dimensions or another AU prior than this faceqa has."""


class InvalidInputError(FaceQAError, ValueError):
    """An argument or a data field has a wrong value or format."""


class AccessDeniedError(FaceQAError, PermissionError):
    """A tool was asked to read or write outside what its policy allows."""


class LimitExceededError(FaceQAError):
    """A tool call would read a file, frame or clip larger than the policy's caps."""


class GalleryModelError(InvalidInputError):
    """A gallery's vectors were made by another identity model than the one asked for."""


class TimeLimitError(LimitExceededError):
    """A call ran past its time limit and was stopped."""


class GalleryBusyError(FaceQAError):
    """A gallery that only one process may open at a time (Milvus Lite) is open in another process."""
