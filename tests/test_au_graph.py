"""The AU relation prior: hand-counted on a small CSV, and regenerated from the real CAS(ME)^3 labels."""

from __future__ import annotations

import numpy as np
import pytest

from faceqa.errors import InvalidInputError
from faceqa.facs.annotations import CASME3_ALL_CSV, CASME3_ME_CSV
from faceqa.facs.au_graph import (
    PRIOR_PATH,
    build_au_relation_prior,
    dumps_compact_json,
    load_au_relation_prior,
)

HEADER_ME = "Subject,Filename,Onset,Apex,Offset,AU,Objective class,emotion\n"
HEADER_ALL = "Subject,Filename,Onset,Apex,Offset,AU,Expression type,Objective class\n"


@pytest.fixture
def small_root(tmp_path):
    """Four events: 1+2, L1+R1+2, 4, 4+R12 (micro: the first two)."""
    me = tmp_path / CASME3_ME_CSV
    me.parent.mkdir(parents=True)
    me.write_text(HEADER_ME + "s1,a,1,2,3,1+2,II,surprise\ns1,b,1,2,3,L1+R1+2,II,surprise\n", encoding="utf-8")
    (tmp_path / CASME3_ALL_CSV).write_text(
        HEADER_ALL
        + "s1,a,1,2,3,1+2,Micro-expression,II\ns1,b,1,2,3,L1+R1+2,Micro-expression,II\n"
        + "s2,a,1,2,3,4,Macro-expression,III\ns2,b,1,2,3.0,4+R12,Macro-expression,I\n",
        encoding="utf-8",
    )
    return tmp_path


def test_hand_counted_prior(small_root, tmp_path):
    content = build_au_relation_prior(small_root, threshold=0.4, min_count=1)
    assert content["aus"] == [1, 2, 4, 12]
    every = content["subsets"]["all"]
    assert every["n_events"] == 4
    assert every["cooccurrence"] == [[2, 2, 0, 0], [2, 2, 0, 0], [0, 0, 2, 1], [0, 0, 1, 1]]
    assert every["conditional"][2] == [0.0, 0.0, 1.0, 0.5]  # P(12 | 4) = 1/2
    assert every["conditional"][3] == [0.0, 0.0, 1.0, 1.0]  # P(4 | 12) = 1
    out = tmp_path / "prior.json"
    out.write_text(dumps_compact_json(content), encoding="utf-8")
    prior = load_au_relation_prior("all", path=out)
    pairs = {(prior.aus[s], prior.aus[d]): w for s, d, w in zip(*prior.edge_index, prior.edge_weight, strict=True)}
    assert pairs == {(1, 1): 1.0, (1, 2): 1.0, (2, 1): 1.0, (2, 2): 1.0, (4, 4): 1.0, (4, 12): 0.5,
                     (12, 4): 1.0, (12, 12): 1.0}
    micro = load_au_relation_prior("micro", path=out)
    assert micro.n_events == 2 and micro.cooccurrence[2].sum() == 0 and not micro.conditional[2].any()
    assert micro.neighbours(1) == {2: 1.0} and micro.neighbours(4) == {}


def test_shipped_prior_loads_without_data():
    prior = load_au_relation_prior()
    n = len(prior.aus)
    assert prior.subset == "all" and prior.n_events == 4206
    assert prior.cooccurrence.shape == prior.conditional.shape == (n, n)
    assert prior.edge_index.dtype == np.int64 and prior.edge_index.shape == (2, len(prior.edge_weight))
    assert ((prior.conditional >= 0) & (prior.conditional <= 1)).all()
    assert (prior.cooccurrence == prior.cooccurrence.T).all()
    loops = prior.edge_index[0] == prior.edge_index[1]
    assert sorted(prior.edge_index[0][loops]) == list(range(n)) and (prior.edge_weight[loops] == 1).all()
    off = ~loops
    src, dst = prior.edge_index[:, off]
    assert (prior.edge_weight[off] >= prior.threshold).all()
    assert (prior.cooccurrence[src, dst] >= prior.min_count).all()
    assert np.allclose(prior.edge_weight[off], prior.conditional[src, dst])
    assert 2 in prior.neighbours(1) and 1 in prior.neighbours(2)  # inner and outer brow raiser
    assert 4 in prior.neighbours(9)  # nose wrinkler with brow lowerer
    assert load_au_relation_prior("micro").n_events == 860


def test_unknown_subset_and_node():
    with pytest.raises(InvalidInputError, match="'macro'"):
        load_au_relation_prior("macro")  # type: ignore[arg-type]
    with pytest.raises(InvalidInputError, match="AU61"):
        load_au_relation_prior().index(61)


def test_missing_source_raises(tmp_path):
    with pytest.raises(InvalidInputError, match="not found"):
        build_au_relation_prior(tmp_path)


@pytest.mark.realdata
def test_regenerated_prior_equals_shipped(shared_data):
    content = build_au_relation_prior(shared_data)
    assert dumps_compact_json(content) == PRIOR_PATH.read_text(encoding="utf-8")
    diag = np.diag(np.asarray(content["subsets"]["micro"]["conditional"]))
    counts = np.diag(np.asarray(content["subsets"]["micro"]["cooccurrence"]))
    assert (diag[counts > 0] == 1).all()
