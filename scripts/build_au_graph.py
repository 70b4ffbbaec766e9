"""Regenerate faceqa/data/au_relation_prior.json from the CAS(ME)^3 part A annotation CSVs.

    python scripts/build_au_graph.py [--data ../shared/data] [--threshold 0.2] [--min-count 5]

The counts, conditional probabilities and edge rule are documented in faceqa/facs/au_graph.py.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from faceqa.facs.au_graph import (
    DEFAULT_MIN_COUNT,
    DEFAULT_THRESHOLD,
    PRIOR_PATH,
    build_au_relation_prior,
    dumps_compact_json,
)

REPO = Path(__file__).resolve().parents[1]


def main() -> None:
    """Parse the arguments, build the prior, write it and print a one-line summary per subset."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    default_data = os.environ.get("FACEQA_TEST_DATA", str(REPO.parent / "shared" / "data"))
    parser.add_argument("--data", type=Path, default=Path(default_data), help="the shared data folder")
    parser.add_argument("--out", type=Path, default=PRIOR_PATH, help="where to write the JSON")
    parser.add_argument("--threshold", type=float, default=DEFAULT_THRESHOLD, help="min P(AU_j | AU_i) of an edge")
    parser.add_argument("--min-count", type=int, default=DEFAULT_MIN_COUNT, help="min co-occurrences of an edge")
    args = parser.parse_args()
    content = build_au_relation_prior(args.data, threshold=args.threshold, min_count=args.min_count)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(dumps_compact_json(content), encoding="utf-8")
    for name, stats in content["subsets"].items():
        print(f"{name}: {stats['n_events']} events, {len(content['aus'])} AUs, {len(stats['edges'])} edges")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
