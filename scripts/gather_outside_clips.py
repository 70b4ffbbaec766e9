"""Copy the labelled clips that are not in the shared data out of their source repository's checkout.

    python scripts/gather_outside_clips.py --checkout LivePortrait/ --checkout video-retalking/ --to outside/ \
        [--labels tests/data/real_events.json]
    python scripts/evaluate_real_events.py --data ../shared/data --data outside/

Every clip of the label file with a ``source`` ("github:OWNER/REPO PATH (commit ...)") is looked for
at ``PATH`` inside each ``--checkout`` (clones of the clips' repositories, in the order given); the
first file there that is the labelled one (its ``sha256``) is copied to ``--to`` under the clip's
labelled ``path``. A ``PATH`` of the form ``ARCHIVE.zip::MEMBER`` names a file inside a zip archive
of the repository. A clip found in no checkout, or only as a different file, is reported and
skipped; the exit status is 1 when any was, 0 when all were copied.
"""

from __future__ import annotations

import argparse
import sys
import zipfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
LABELS = REPO / "tests" / "data" / "real_events.json"


def source_path(source: str) -> str:
    """The file's path inside its repository, from a label file's ``source`` ("github:O/R PATH (...)")."""
    parts = source.split()
    if len(parts) < 2 or not parts[0].startswith("github:"):
        raise ValueError(f"source {source!r} is not 'github:OWNER/REPO PATH ...'")
    return parts[1]


def read_source(checkout: Path, inside: str) -> bytes | None:
    """The bytes of the file at ``inside`` in ``checkout`` (a zip archive's member for
    "ARCHIVE.zip::MEMBER"), or None when it is not there (an unreadable archive counts as not there)."""
    archive, sep, member = inside.partition("::")
    path = checkout / archive
    if not path.is_file():
        return None
    if not sep:
        return path.read_bytes()
    try:
        with zipfile.ZipFile(path) as z:
            return z.read(member)
    except (zipfile.BadZipFile, KeyError, OSError):
        return None


def gather(labels: Path, checkouts: list[Path], to: Path) -> list[str]:
    """Copy every outside clip of ``labels`` from the first of ``checkouts`` that holds it into ``to``;
    the problems, one line each."""
    from faceqa.evidence.labelled_events import load_labelled_clips

    problems = []
    for name, clip in load_labelled_clips(labels).items():
        if not clip.source:
            continue
        try:
            inside = source_path(clip.source)
        except ValueError as e:
            problems.append(f"{name}: {e}")
            continue
        present = [data for data in (read_source(c, inside) for c in checkouts) if data is not None]
        found = next((data for data in present if clip.is_labelled_data(data)), None)
        if found is None:
            where = ", ".join(str(c) for c in checkouts)
            why = "is not the labelled file (its SHA-256 differs)" if present else "not found"
            problems.append(f"{name}: {inside} {why} in {where} (source: {clip.source})")
            continue
        target = to / clip.path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(found)
        print(f"{name}: {target}")
    return problems


def main(argv: list[str] | None = None) -> int:
    """Parse the arguments, copy the clips, print the problems."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--checkout", type=Path, action="append", required=True,
                    help="a clone of a source repository of the clips (repeat for each repository)")
    ap.add_argument("--to", type=Path, required=True, help="the folder to pass to evaluate_real_events.py --data")
    ap.add_argument("--labels", type=Path, default=LABELS)
    args = ap.parse_args(argv)
    for checkout in args.checkout:
        if not checkout.is_dir():
            sys.exit(f"--checkout {checkout}: not a folder")
    problems = gather(args.labels, args.checkout, args.to)
    for line in problems:
        print(f"skipped {line}", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
