"""The MEGC emotion vocabulary: fine-grained classes, coarse classes, and the map between them.

Fine classes are spelled as the MEGC ME-VQA answers spell them (``happiness``, ``sadness``, ...).
The coarse classes are MEGC's three: ``positive`` (happiness), ``surprise`` (surprise) and
``negative`` (anger, contempt, disgust, fear, repression, sadness), as in the MEGC 2019
composite-database protocol. ``others`` has no coarse class; CAS(ME)^3 and MEGC leave it out of
3-class evaluation.
"""

from __future__ import annotations

from faceqa.errors import InvalidInputError

FINE_CLASSES: tuple[str, ...] = (
    "happiness",
    "surprise",
    "anger",
    "contempt",
    "disgust",
    "fear",
    "repression",
    "sadness",
    "others",
)
COARSE_CLASSES: tuple[str, ...] = ("positive", "negative", "surprise")

COARSE_OF: dict[str, str | None] = {
    "happiness": "positive",
    "surprise": "surprise",
    "anger": "negative",
    "contempt": "negative",
    "disgust": "negative",
    "fear": "negative",
    "repression": "negative",
    "sadness": "negative",
    "others": None,
}

_FINE_ALIASES = {
    "happy": "happiness",
    "sad": "sadness",
    "angry": "anger",
    "disgusted": "disgust",
    "fearful": "fear",
    "surprised": "surprise",
    "other": "others",
}


def normalise_fine(label: str) -> str:
    """A fine-class label in any dataset's spelling (``happy``, ``Others``) -> the MEGC spelling."""
    key = label.strip().lower()
    key = _FINE_ALIASES.get(key, key)
    if key not in COARSE_OF:
        raise InvalidInputError(f"unknown fine-grained emotion class {label!r}: expected one of {FINE_CLASSES}")
    return key


def normalise_coarse(label: str) -> str | None:
    """A coarse label (``Positive``, ``negative``, ``surprise``) -> MEGC spelling; ``others`` -> None."""
    key = label.strip().lower()
    if key in ("others", "other"):
        return None
    if key not in COARSE_CLASSES:
        raise InvalidInputError(f"unknown coarse emotion class {label!r}: expected one of {COARSE_CLASSES}")
    return key


def coarse_of(fine: str) -> str | None:
    """The coarse class of a fine class (None for ``others``)."""
    return COARSE_OF[normalise_fine(fine)]
