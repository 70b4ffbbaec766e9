"""FACS knowledge: action units, AU codes and names, emotion classes, the AU relation prior, and the
deduction from AUs to emotion. Pure knowledge and expert labels: nothing here reads media.

- :mod:`~faceqa.facs.units`: the AU table (number, MEGC name, region, laterality);
- :mod:`~faceqa.facs.au_codes`: AU codes (``4+15+R10``, ``R14A``) and MEGC names, both ways;
- :mod:`~faceqa.facs.emotion_classes`: MEGC fine and coarse emotion classes;
- :mod:`~faceqa.facs.annotations`: expert labels (:class:`LabelledExpression`) and the CAS(ME)^3 readers;
- :mod:`~faceqa.facs.au_graph`: AU co-occurrence prior (shipped, regenerable);
- :mod:`~faceqa.facs.deduction`: AUs -> fine and coarse emotion, with a rationale.

MEGC files and metrics live in :mod:`faceqa.megc`; the evidence pass over media in :mod:`faceqa.evidence`.
"""

from faceqa.facs.annotations import LabelledExpression, read_casme3_part_a, read_casme3_part_c
from faceqa.facs.au_codes import (
    AUCode,
    au_numbers,
    format_au_codes,
    format_au_names,
    parse_au_code,
    parse_au_codes,
    parse_au_names,
    parse_aus,
)
from faceqa.facs.au_graph import AURelationPrior, build_au_relation_prior, load_au_relation_prior
from faceqa.facs.deduction import (
    PROTOTYPES,
    Deduction,
    DeductionModel,
    deduce,
    fit_deduction_model,
    load_deduction_model,
    prototype_match,
)
from faceqa.facs.emotion_classes import (
    COARSE_CLASSES,
    COARSE_OF,
    FINE_CLASSES,
    coarse_of,
    normalise_coarse,
    normalise_fine,
)
from faceqa.facs.units import ActionUnit, action_units, au_by_name, au_by_number, is_au_name

__all__ = [
    "COARSE_CLASSES",
    "COARSE_OF",
    "FINE_CLASSES",
    "PROTOTYPES",
    "AUCode",
    "AURelationPrior",
    "ActionUnit",
    "Deduction",
    "DeductionModel",
    "LabelledExpression",
    "action_units",
    "au_by_name",
    "au_by_number",
    "au_numbers",
    "build_au_relation_prior",
    "coarse_of",
    "deduce",
    "fit_deduction_model",
    "format_au_codes",
    "format_au_names",
    "is_au_name",
    "load_au_relation_prior",
    "load_deduction_model",
    "normalise_coarse",
    "normalise_fine",
    "parse_au_code",
    "parse_au_codes",
    "parse_au_names",
    "parse_aus",
    "prototype_match",
    "read_casme3_part_a",
    "read_casme3_part_c",
]
