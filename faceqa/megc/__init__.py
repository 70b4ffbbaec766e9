"""MEGC micro-expression challenges: file I/O, prediction, evaluation and gold answers.

- :mod:`~faceqa.megc.io`: ME-VQA 2025, ME-VQA v2 2026 and ME-LVQA 2026 JSONL files, as published;
- :mod:`~faceqa.megc.media`: where a row's video or frames are under a media root;
- :mod:`~faceqa.megc.labels`: the AU-labels / events CSV (oracle evidence, spotted and gold events);
- :mod:`~faceqa.megc.predict`: answer a question file into a submission file (resumable);
- :mod:`~faceqa.megc.evaluate`, :mod:`~faceqa.megc.metrics` (spotting, UF1/UAR, STRS) and
  :mod:`~faceqa.megc.text_metrics` (BLEU, ROUGE): the challenge metrics;
- :mod:`~faceqa.megc.gold`: ME-LVQA gold from CAS(ME)^3 annotations, AU labels from ME-VQA answers, the
  deduction model's training set;
- :mod:`~faceqa.megc.heldout`: emotion scores on held-out subjects with oracle AU labels.
"""

from faceqa.megc.evaluate import evaluate, format_report
from faceqa.megc.gold import au_labels_from_qa, casme3_videos, deduction_training_data, lvqa_gold
from faceqa.megc.io import QAFile, QARow, read_qa_file, read_qa_labels, write_jsonl
from faceqa.megc.labels import ClipLabels, read_au_labels, write_csv
from faceqa.megc.media import MediaRef, find_media
from faceqa.megc.metrics import interval_iou, match_intervals, recognition_scores, spotting_scores, strs_score
from faceqa.megc.predict import PredictSummary, predict
from faceqa.megc.text_metrics import corpus_bleu, rouge1, sentence_bleu

__all__ = ["ClipLabels", "MediaRef", "PredictSummary", "QAFile", "QARow", "au_labels_from_qa", "casme3_videos",
           "corpus_bleu", "deduction_training_data", "evaluate", "find_media", "format_report", "interval_iou",
           "lvqa_gold", "match_intervals", "predict", "read_au_labels", "read_qa_file", "read_qa_labels",
           "recognition_scores", "rouge1", "sentence_bleu", "spotting_scores", "strs_score", "write_csv",
           "write_jsonl"]
