"""Counterfactual Consistency Regularisation (CCR): the prediction must follow the evidence.

For a training clip with AU set S, a counterfactual clip has one AU of S removed or swapped for
another; its evidence features are rebuilt from the changed set. Two terms:

- the graph's AU head, run on the counterfactual evidence, must predict the counterfactual AU
  labels (asymmetric loss): AU predictions move with the evidence;
- for samples whose answer the change contradicts (an answer naming the removed AU, or an
  emotion that rested on it), the answer must be at least ``margin`` nats per token *less*
  likely under the counterfactual evidence than under the true one:
  ``relu(margin - (nll_counterfactual - nll_true))``. An LLM that ignores the evidence tokens
  pays this in full.
"""

from __future__ import annotations

import numpy as np
import torch

from faceqa.aullm.losses import asymmetric_loss
from faceqa.facs.au_codes import AUCode


def counterfactual_aus(aus: list[AUCode], candidates: tuple[int, ...], rng: np.random.Generator
                       ) -> tuple[list[AUCode], int | None]:
    """A changed AU list and the AU that was removed (None when the set was empty and one was added)."""
    if not aus:
        return [AUCode(int(rng.choice(candidates)), None, None)], None
    drop = int(rng.integers(len(aus)))
    removed = aus[drop].number
    rest = [a for i, a in enumerate(aus) if i != drop]
    if rng.random() < 0.5:
        present = {a.number for a in aus}
        swaps = [c for c in candidates if c not in present]
        if swaps:
            rest.append(AUCode(int(rng.choice(swaps)), aus[drop].side, None))
    return rest, removed


def mask_features(feats, au: int | None, node_aus: tuple[int, ...]):
    """Video-evidence counterfactual: the clip's features with AU ``au``'s evidence removed (its node
    row zeroed, and the mid-level tokens of the regions it moves)."""
    from faceqa.aullm.features import EvidenceFeatures
    from faceqa.evidence.au_activity import AU_MOTIONS
    from faceqa.evidence.regions import region_keys

    mid, high, nodes = feats.mid.clone(), feats.high.clone(), feats.nodes.clone()
    if au is not None and au in node_aus:
        nodes[node_aus.index(au)] = 0
        moves = {r for m in AU_MOTIONS if m.au == au for r, _ in m.moves}
        for i, (region, _) in enumerate(region_keys()):
            if region in moves:
                mid[i] = 0
    return EvidenceFeatures(mid, high, nodes)


def consistency_loss(nll_true: torch.Tensor, nll_counterfactual: torch.Tensor, au_logits_counterfactual: torch.Tensor,
                     au_targets_counterfactual: torch.Tensor | None, mask: torch.Tensor | None,
                     margin: float = 1.0) -> torch.Tensor:
    """The CCR loss for a batch (see the module docstring); ``mask`` (B,) selects contradicted answers."""
    loss = nll_true.new_zeros(())
    if au_targets_counterfactual is not None:
        loss = loss + asymmetric_loss(au_logits_counterfactual, au_targets_counterfactual.to(au_logits_counterfactual))
    hinge = torch.relu(margin - (nll_counterfactual - nll_true))
    if mask is not None:
        m = mask.to(hinge)
        hinge = (hinge * m).sum() / m.sum().clamp(min=1)
    else:
        hinge = hinge.mean()
    return loss + hinge
