"""The AU relation prior: how often action units occur together in expert FACS annotations.

Source: the official CAS(ME)^3 part A annotations (Li et al., TPAMI 2022,
doi:10.1109/TPAMI.2022.3174895): ``casme3_partA_ME_labels_v2.csv`` (860 micro-expressions) and
``casme3_partA_all_expressions_v2.csv`` (4,206 micro- and macro-expressions). Each event's AU
codes are reduced to the set of AU numbers (sides, intensities and lip parts merged). Two
subsets are computed over the same node list (every AU seen in the 4,206 events, ascending):

- ``"micro"``: the 860 micro-expressions;
- ``"all"``: all 4,206 events (the default: five times the data, so pair counts are steadier).

For each subset:

- ``cooccurrence[i, j]``: events holding both AU i and AU j; the diagonal counts AU i alone;
- ``conditional[i, j] = P(AU_j | AU_i) = cooccurrence[i, j] / cooccurrence[i, i]`` (a row of
  zeros for an AU the subset never shows);
- edges ``i -> j`` (``i != j``) where ``P(AU_j | AU_i) >= threshold`` (0.2) and
  ``cooccurrence[i, j] >= min_count`` (5), weighted by ``P(AU_j | AU_i)``; plus a self-loop of
  weight 1 on every node. Edges are directed (the conditional is not symmetric).

``scripts/build_au_graph.py`` regenerates ``faceqa/data/au_relation_prior.json`` from the CSVs;
the file holds these derived counts only, with each source file's sha256.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np

from faceqa.errors import InvalidInputError, ModelUnavailableError
from faceqa.facs.annotations import CASME3_ALL_CSV, CASME3_ME_CSV, read_casme3_part_a
from faceqa.facs.au_codes import au_numbers

Subset = Literal["micro", "all"]

PRIOR_PATH = Path(__file__).resolve().parents[1] / "data" / "au_relation_prior.json"
"""Where the package ships the prior."""

FORMAT = "faceqa.au_relation_prior/1"
DEFAULT_THRESHOLD = 0.2
DEFAULT_MIN_COUNT = 5


@dataclass(frozen=True)
class AURelationPrior:
    """AU co-occurrence statistics and the sparse prior graph for one subset.

    Attributes:
        aus: AU numbers, the node order of every matrix.
        subset: ``"micro"`` or ``"all"``.
        n_events: annotated events counted.
        cooccurrence: (N, N) int64 event counts.
        conditional: (N, N) float64, ``P(AU_j | AU_i)`` in row i, column j.
        edge_index: (2, E) int64 node indices, row 0 the source i, row 1 the target j
            (the torch-geometric layout).
        edge_weight: (E,) float64, ``P(AU_j | AU_i)`` (1 on self-loops).
        threshold, min_count: the edge rule used.
    """

    aus: tuple[int, ...]
    subset: str
    n_events: int
    cooccurrence: np.ndarray
    conditional: np.ndarray
    edge_index: np.ndarray
    edge_weight: np.ndarray
    threshold: float
    min_count: int

    def index(self, au: int) -> int:
        """Node index of AU number ``au``; InvalidInputError when the prior has no such node."""
        try:
            return self.aus.index(int(au))
        except ValueError:
            raise InvalidInputError(f"AU{au} is not a node of the AU relation prior (nodes: {self.aus})") from None

    def neighbours(self, au: int) -> dict[int, float]:
        """AUs that AU ``au`` points to, with weights ``P(AU_j | AU_au)`` (self-loop left out)."""
        i = self.index(au)
        src, dst = self.edge_index
        return {self.aus[j]: float(w) for s, j, w in zip(src, dst, self.edge_weight, strict=True) if s == i != j}


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _event_au_sets(path: Path) -> list[set[int]]:
    return [set(au_numbers(e.aus)) for e in read_casme3_part_a(path)]


def _subset_stats(sets: list[set[int]], aus: list[int], threshold: float, min_count: int) -> dict[str, Any]:
    idx = {a: i for i, a in enumerate(aus)}
    counts = np.zeros((len(aus), len(aus)), dtype=np.int64)
    for s in sets:
        members = [idx[a] for a in s]
        counts[np.ix_(members, members)] += 1
    diag = np.diag(counts).astype(np.float64)
    conditional = np.divide(counts, diag[:, None], out=np.zeros(counts.shape), where=diag[:, None] > 0)
    keep = (conditional >= threshold) & (counts >= min_count)
    np.fill_diagonal(keep, True)
    edges = []
    for i, j in zip(*np.nonzero(keep), strict=True):
        weight = 1.0 if i == j else round(float(conditional[i, j]), 6)
        edges.append([aus[i], aus[j], weight])
    return {
        "n_events": len(sets),
        "cooccurrence": counts.tolist(),
        "conditional": np.round(conditional, 6).tolist(),
        "edges": edges,
    }


def build_au_relation_prior(
    data_root: Path, threshold: float = DEFAULT_THRESHOLD, min_count: int = DEFAULT_MIN_COUNT
) -> dict[str, Any]:
    """Compute the prior's JSON content from the CAS(ME)^3 CSVs under ``data_root`` (../shared/data)."""
    paths = {name: Path(data_root) / name for name in (CASME3_ME_CSV, CASME3_ALL_CSV)}
    for name, p in paths.items():
        if not p.is_file():
            raise InvalidInputError(f"{p}: CAS(ME)^3 annotation file {name} not found under {data_root}")
    micro = _event_au_sets(paths[CASME3_ME_CSV])
    every = _event_au_sets(paths[CASME3_ALL_CSV])
    aus = sorted(set().union(*every, *micro))
    return {
        "format": FORMAT,
        "description": "AU co-occurrence in CAS(ME)^3 part A expert FACS annotations (derived counts only)",
        "sources": [{"path": name, "sha256": _sha256(p)} for name, p in paths.items()],
        "threshold": threshold,
        "min_count": min_count,
        "aus": aus,
        "subsets": {
            "micro": _subset_stats(micro, aus, threshold, min_count),
            "all": _subset_stats(every, aus, threshold, min_count),
        },
    }


def dumps_compact_json(content: dict[str, Any]) -> str:
    """JSON text as the package ships it: indented, each list of numbers on one line."""
    text = json.dumps(content, indent=1)
    return re.sub(r"\[[-\d.,\s]+\]", lambda m: re.sub(r"\s+", "", m.group(0)).replace(",", ", "), text) + "\n"


def load_au_relation_prior(subset: Subset = "all", path: Path | None = None) -> AURelationPrior:
    """Load the shipped prior (or the file at ``path``) for ``subset`` ("all" or "micro")."""
    path = PRIOR_PATH if path is None else Path(path)
    if not path.is_file():
        raise ModelUnavailableError(f"{path}: AU relation prior missing; run scripts/build_au_graph.py")
    content = json.loads(path.read_text(encoding="utf-8"))
    if content.get("format") != FORMAT:
        raise InvalidInputError(f"{path}: not an AU relation prior (format {content.get('format')!r})")
    if subset not in content["subsets"]:
        raise InvalidInputError(f"unknown AU prior subset {subset!r}: choose from {sorted(content['subsets'])}")
    aus = tuple(content["aus"])
    stats = content["subsets"][subset]
    pos = {a: i for i, a in enumerate(aus)}
    edges = stats["edges"]
    return AURelationPrior(
        aus=aus,
        subset=subset,
        n_events=int(stats["n_events"]),
        cooccurrence=np.asarray(stats["cooccurrence"], dtype=np.int64),
        conditional=np.asarray(stats["conditional"], dtype=np.float64),
        edge_index=np.asarray([[pos[s] for s, _, _ in edges], [pos[d] for _, d, _ in edges]], dtype=np.int64),
        edge_weight=np.asarray([w for _, _, w in edges], dtype=np.float64),
        threshold=float(content["threshold"]),
        min_count=int(content["min_count"]),
    )
