"""Evidence: FACS knowledge, AU relation prior, AU -> emotion deduction, MEGC metrics.

- :mod:`~faceqa.evidence.facs`: the AU table (number, MEGC name, region, laterality);
- :mod:`~faceqa.evidence.au_codes`: AU codes (``4+15+R10``, ``R14A``) and MEGC names, both ways;
- :mod:`~faceqa.evidence.emotion_classes`: MEGC fine and coarse emotion classes;
- :mod:`~faceqa.evidence.annotations`: readers for CAS(ME)^3 labels and MEGC ME-VQA files;
- :mod:`~faceqa.evidence.au_graph`: AU co-occurrence prior (shipped, regenerable);
- :mod:`~faceqa.evidence.deduction`: AUs -> fine and coarse emotion, with a rationale;
- :mod:`~faceqa.evidence.spotting_metrics`: spotting P/R/F1, UF1/UAR, STRS.
"""

from faceqa.evidence.annotations import LabelledExpression, read_casme3_part_a, read_casme3_part_c, read_megc_qa
from faceqa.evidence.au_codes import (
    AUCode,
    au_numbers,
    format_au_codes,
    format_au_names,
    parse_au_code,
    parse_au_codes,
    parse_au_names,
    parse_aus,
)
from faceqa.evidence.au_graph import AURelationPrior, build_au_relation_prior, load_au_relation_prior
from faceqa.evidence.deduction import (
    PROTOTYPES,
    Deduction,
    DeductionModel,
    deduce,
    fit_deduction_model,
    load_deduction_model,
    prototype_match,
)
from faceqa.evidence.emotion_classes import (
    COARSE_CLASSES,
    COARSE_OF,
    FINE_CLASSES,
    coarse_of,
    normalise_coarse,
    normalise_fine,
)
from faceqa.evidence.facs import ActionUnit, action_units, au_by_name, au_by_number, is_au_name
from faceqa.evidence.spotting_metrics import (
    Counts,
    Interval,
    Matching,
    RecognitionScores,
    SpottingResult,
    STRSResult,
    interval_iou,
    match_intervals,
    recognition_scores,
    spotting_scores,
    strs_score,
)

__all__ = [
    "COARSE_CLASSES",
    "COARSE_OF",
    "FINE_CLASSES",
    "PROTOTYPES",
    "AUCode",
    "AURelationPrior",
    "ActionUnit",
    "Counts",
    "Deduction",
    "DeductionModel",
    "Interval",
    "LabelledExpression",
    "Matching",
    "RecognitionScores",
    "STRSResult",
    "SpottingResult",
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
    "interval_iou",
    "is_au_name",
    "load_au_relation_prior",
    "load_deduction_model",
    "match_intervals",
    "normalise_coarse",
    "normalise_fine",
    "parse_au_code",
    "parse_au_codes",
    "parse_au_names",
    "parse_aus",
    "prototype_match",
    "read_casme3_part_a",
    "read_casme3_part_c",
    "read_megc_qa",
    "recognition_scores",
    "spotting_scores",
    "strs_score",
]
