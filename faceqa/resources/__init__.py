"""The files faceqa reads at run time besides its code: prompt templates, the default adapter bundle
and the trained twin head.

Their one home in the source tree is the top-level ``prompts/``, ``adapters/default/`` and
``adapters/twin_head/`` folders, where they are edited and trained into. ``faceqa/resources/prompts``,
``faceqa/resources/default_bundle`` and ``faceqa/resources/twin_head`` are symbolic links to them: a
checkout reads the files through the links, and building the wheel copies them into the package
(package data), so an installed faceqa carries them. A file added to ``prompts/`` or
``adapters/default/`` is in the next wheel with nothing else to change.

Where each file is looked for, first found wins:

- a prompt file (a composer template ``composer/NAME.txt``, an AULLM++ template ``aullm_v1.txt``),
  one file at a time, so a folder may override a single template:

  1. the folder given explicitly (``FaceQA(templates=...)``, ``Composer(templates)``: then only it);
  2. ``$FACEQA_PROMPTS`` (a folder laid out like ``prompts/``);
  3. ``./prompts`` in the working directory;
  4. the packaged copy.

- the adapter bundle of the LLM answerer:

  1. the folder given explicitly (``--bundle DIR``, ``FaceQA(bundle=...)``);
  2. ``$FACEQA_BUNDLE``;
  3. ``./adapters/default`` in the working directory;
  4. the packaged default bundle;

  a folder counts when it holds the bundle's ``config.json``.

- the twin head of ``faceqa verify --twin-aware``: ``--twin-head PATH``, then
  ``$FACEQA_HOME/twin_head.pt`` when it exists, then the packaged head
  (:func:`faceqa.perception.twin.default_head_path`).
"""

from __future__ import annotations

import os
from importlib.resources import files
from pathlib import Path

from faceqa.errors import InvalidInputError

PROMPTS_ENV = "FACEQA_PROMPTS"
BUNDLE_ENV = "FACEQA_BUNDLE"


def packaged(name: str) -> Path:
    """The packaged resource ``name`` (``"prompts"``, ``"default_bundle"`` or ``"twin_head"``) as a file-system path."""
    path = files(__name__) / name
    if not isinstance(path, Path):  # a zipped install: nothing here reads from a zip
        raise InvalidInputError(f"faceqa's {name} are not on the file system ({path}); install faceqa unzipped")
    return path


def prompt_roots() -> list[Path]:
    """The prompt folders in search order (see the module docstring), those that exist."""
    env = os.environ.get(PROMPTS_ENV)
    roots = [Path(env)] if env else []
    return [r for r in [*roots, Path.cwd() / "prompts", packaged("prompts")] if r.is_dir()]


def find_prompt(name: str) -> Path:
    """The first prompt file ``name`` (relative to a prompt folder, e.g. ``"aullm_v1.txt"``) in search order."""
    roots = prompt_roots()
    for root in roots:
        if (root / name).is_file():
            return root / name
    raise InvalidInputError(f"prompt {name!r} not found in {', '.join(str(r) for r in roots)}")


def prompt_files(folder: str, suffix: str = ".txt") -> dict[str, Path]:
    """Every ``*suffix`` file of the prompt subfolder ``folder`` by name (stem), each from the first prompt
    folder in search order that has it."""
    found: dict[str, Path] = {}
    for root in reversed(prompt_roots()):
        if (root / folder).is_dir():
            found |= {p.stem: p for p in (root / folder).iterdir() if p.suffix == suffix and p.is_file()}
    return dict(sorted(found.items()))


def default_bundle() -> Path | None:
    """The adapter bundle used when none is given (see the module docstring), or None when there is none."""
    env = os.environ.get(BUNDLE_ENV)
    candidates = [Path(env)] if env else []
    for path in [*candidates, Path.cwd() / "adapters" / "default", packaged("default_bundle")]:
        if (path / "config.json").is_file():
            return path
    return None
