"""Printing CLI results as JSON."""

from __future__ import annotations

import json
from typing import Any

from faceqa.jsonable import to_jsonable


def print_json(obj: Any) -> None:
    """Print ``obj`` as indented JSON on stdout."""
    print(json.dumps(to_jsonable(obj), indent=2, ensure_ascii=False))
