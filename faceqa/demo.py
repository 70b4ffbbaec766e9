"""``make demo``: run faceqa on built-in data (skimage's astronaut portrait) and print what it found."""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import numpy as np
from PIL import Image


def astronaut_png(folder: Path) -> Path:
    """Save skimage's astronaut (a real portrait shipped by scikit-image) as a PNG in ``folder``."""
    from skimage import data

    path = folder / "astronaut.png"
    Image.fromarray(np.ascontiguousarray(data.astronaut())).save(path)
    return path


def main() -> int:
    """Analyse the astronaut with the ``faceqa analyze`` command and print the result."""
    from faceqa.cli.main import main as cli

    with tempfile.TemporaryDirectory(prefix="faceqa-demo-") as tmp:
        image = astronaut_png(Path(tmp))
        print(f"$ faceqa analyze {image.name}")
        rc = cli(["analyze", str(image)])
    return rc


if __name__ == "__main__":
    sys.exit(main())
