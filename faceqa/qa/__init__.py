"""Question answering about faces: question understanding, facts, the grounded composer, ``FaceQA``.

- :mod:`~faceqa.qa.questions`: every MEGC question type and free-form routing (:func:`parse_question`);
- :mod:`~faceqa.qa.kinds`: the one table of question kinds (passes, composer handler, metric);
- :mod:`~faceqa.qa.facts`: the facts an answer rests on, from evidence or from oracle AU labels;
- :mod:`~faceqa.qa.composer`: the grounded composer filling the templates in ``prompts/composer``;
- :mod:`~faceqa.qa.api`: :class:`FaceQA` and :class:`Answer`.
"""

from faceqa.qa.api import Answer, FaceQA
from faceqa.qa.composer import Composed, Composer
from faceqa.qa.facts import AUFact, EventFact, Facts, au_facts_from_codes, facts_from_evidence, facts_from_labels
from faceqa.qa.questions import Question, Target, parse_question

__all__ = ["AUFact", "Answer", "Composed", "Composer", "EventFact", "FaceQA", "Facts", "Question", "Target",
           "au_facts_from_codes", "facts_from_evidence", "facts_from_labels", "parse_question"]
