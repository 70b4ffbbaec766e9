"""faceqa: answer questions about faces in images and videos.

The data flow is one direction, a subpackage per stage::

    media -> perception -> evidence -> tokens -> answer -> surfaces
"""

from faceqa.errors import (
    AccessDeniedError,
    EmptyMediaError,
    FaceQAError,
    InvalidInputError,
    LimitExceededError,
    MediaNotFoundError,
    MediaReadError,
    ModelUnavailableError,
    NoFaceError,
)

__version__ = "0.1.0"

__all__ = [
    "AccessDeniedError",
    "EmptyMediaError",
    "FaceQAError",
    "InvalidInputError",
    "LimitExceededError",
    "MediaNotFoundError",
    "MediaReadError",
    "ModelUnavailableError",
    "NoFaceError",
    "__version__",
]
