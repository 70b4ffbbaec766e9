"""Command-line interface (``faceqa ...``)."""
