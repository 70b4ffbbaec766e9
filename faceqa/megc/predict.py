"""``faceqa megc predict``: answer an MEGC question file and write the submission file.

For each clip of the question file (rows grouped by ``image_id`` / ``video``), in file order:

1. the facts come from the oracle AU labels when ``au_labels`` has the clip
   (:func:`~faceqa.qa.facts.facts_from_labels`), else from the media found under ``media_root``
   (:func:`~faceqa.megc.media.find_media`; the 2025 ``onset_frame``/``offset_frame`` select the
   clip's frames), with the dataset's labelling convention and frame rate;
2. every question of the clip is answered in one :meth:`FaceQA.ask_many` call (one evidence pass),
   naming the clip's dataset, so that ``answerer="auto"`` routes each question type by the
   bundle's held-out scores for that dataset;
3. its submission rows (``video_id, video, question, answer``) are appended to ``out`` at once,
   so an interrupted run loses at most the clip in progress.

Rows that cannot be answered (media missing or unreadable, no labels for the clip, any error of
that clip) get an empty answer in ``out`` and one line each in ``<out stem>.errors.csv``
(``video_id, video, question, error``); the run goes on. For ME-LVQA files the spotted (or
labelled) events go to ``<out stem>.events.csv`` (:mod:`~faceqa.megc.labels` layout) for the
spotting scores of :mod:`~faceqa.megc.evaluate`.

**Resume.** When ``out`` exists, its rows with an answer are kept and not redone; rows with an
empty answer (those that failed) are retried, and the errors file lists only this run's failures.
A last line cut short by a crash (no newline, not valid JSON) is dropped with a warning; every
complete row before it is kept.
``out`` must belong to the same question file (its keys must be keys of that file) unless
``overwrite``. At the end ``out`` is rewritten in the question file's order.
"""

from __future__ import annotations

import logging
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from faceqa.batch import run_batch
from faceqa.errors import InvalidInputError
from faceqa.megc.io import FORMAT_LVQA_2026, QARow, read_jsonl, read_jsonl_resumable, read_qa_file, write_jsonl
from faceqa.megc.labels import ClipLabels, event_row, read_au_labels, read_csv_rows, write_csv
from faceqa.megc.media import DATASET_CONVENTION, DATASET_FPS, find_media
from faceqa.qa.api import Answer, FaceQA
from faceqa.qa.facts import facts_from_labels
from faceqa.safeio import check_output, check_path, display, os_error

ERROR_COLUMNS = ("video_id", "video", "question", "error")
log = logging.getLogger(__name__)


@dataclass
class PredictSummary:
    """What a predict run did.

    Attributes:
        questions: rows in the question file.
        answered: rows answered in this run.
        resumed: rows kept from an earlier run.
        failed: rows recorded in the errors file (empty answers).
        out, errors, events: the files written (``errors``/``events`` None when not written).
        seconds: wall time of this run.
        torn_line: number of a torn last line of an earlier run's ``out`` that was dropped, or None.
    """

    questions: int
    answered: int
    resumed: int
    failed: int
    out: Path
    errors: Path | None
    events: Path | None
    seconds: float
    torn_line: int | None = None

    @property
    def questions_per_second(self) -> float:
        """Rows answered (or failed) in this run per second."""
        return (self.answered + self.failed) / self.seconds if self.seconds > 0 else 0.0


def side_paths(out: str | os.PathLike) -> tuple[Path, Path]:
    """(errors CSV, events CSV) written beside a prediction file."""
    out = Path(out)
    stem = out.name[: -len(out.suffix)] if out.suffix else out.name
    return out.with_name(f"{stem}.errors.csv"), out.with_name(f"{stem}.events.csv")


def _resume(out: Path, keys: set[str], overwrite: bool) -> tuple[dict[str, dict], int | None]:
    """(the answered rows of an earlier run's ``out`` by key, the number of a torn last line dropped or None);
    rows with an empty answer are redone."""
    if overwrite or not out.is_file():
        return {}, None
    rows = {}
    read, torn = read_jsonl_resumable(out)
    if torn is not None:
        log.warning("%s: line %d was cut short by an interrupted run; dropped (its clip is answered again)",
                    display(out), torn)
    for n, obj in read:
        if not isinstance(obj, dict) or "video_id" not in obj or "answer" not in obj:
            raise InvalidInputError(f"{out}:{n}: not a submission row (video_id, video, question, answer); "
                                    "pass --overwrite to replace the file")
        if obj["video_id"] not in keys:
            raise InvalidInputError(f"{out}:{n}: row {obj['video_id']!r} is not in the question file; "
                                    "pass --overwrite to replace the file")
        if isinstance(obj["answer"], str) and obj["answer"].strip():
            rows[obj["video_id"]] = obj
    return rows, torn


class Predictor:
    """Answers the clips of one question file (see the module docstring).

    Args:
        qa: the :class:`FaceQA` to answer with.
        media_root: folder of the media (see :mod:`~faceqa.megc.media` for the layouts).
        au_labels: clip id -> oracle labels (:func:`~faceqa.megc.labels.read_au_labels`).
        fps: frame-rate override for every clip.
    """

    def __init__(self, qa: FaceQA, media_root: str | Path | None = None, au_labels: dict[str, ClipLabels] | None = None,
                 fps: float | None = None):
        if media_root is None and au_labels is None:
            raise InvalidInputError("give a media root (--media-root) or oracle AU labels (--au-labels)")
        self.qa = qa
        self.media_root = Path(media_root) if media_root is not None else None
        self.au_labels = au_labels
        self.fps = fps

    def answer_clip(self, rows: list[QARow]) -> list[Answer]:
        """Answers to the rows of one clip (same order); raises the clip's error."""
        first = rows[0]
        dataset = first.dataset or ""
        convention = DATASET_CONVENTION.get(dataset)
        questions = [r.question for r in rows]
        if self.au_labels is not None and first.clip in self.au_labels:
            labels = self.au_labels[first.clip]
            facts = facts_from_labels(labels.aus, labels.events, clip=first.clip,
                                      fps=self.fps or DATASET_FPS.get(dataset), convention=convention,
                                      model=self.qa.deduction_model)
            return self.qa.answer_facts(facts, questions, tool_calls=[{"name": "au_labels",
                                                                        "args": {"clip": first.clip}}],
                                        dataset=first.dataset)
        if self.media_root is None:
            raise InvalidInputError(f"clip {first.clip!r}: no row in the AU-labels file, and no --media-root given")
        ref = find_media(self.media_root, first, self.fps)
        return self.qa.ask_many(ref.path, questions, fps=ref.fps, onset=ref.start, offset=ref.end, clip=first.clip,
                                convention=convention, dataset=first.dataset)


def predict(questions: str | Path, out: str | Path, media_root: str | Path | None = None,
            au_labels: str | Path | dict[str, ClipLabels] | None = None, qa: FaceQA | None = None,
            fps: float | None = None, overwrite: bool = False, progress: bool = True, workers: int | None = 1,
            ray: str | None = None) -> PredictSummary:
    """Answer every row of an MEGC question file into ``out`` (see the module docstring).

    ``qa`` defaults to ``FaceQA(answerer="auto")``; pass one to choose the answerer, the bundle or
    the deduction model. ``au_labels`` is a CSV path or already read labels. ``workers`` > 1 answers
    that many clips at once in worker processes, ``ray`` on a Ray cluster (:func:`faceqa.batch.run_batch`;
    each worker builds its own FaceQA with ``qa``'s settings); rows are written as clips finish, and
    put in the question file's order at the end.
    """
    start = time.perf_counter()
    qfile = read_qa_file(questions)
    labels = read_au_labels(au_labels) if isinstance(au_labels, str | os.PathLike) else au_labels
    predictor = Predictor(qa or FaceQA(answerer="auto"), media_root, labels, fps)
    out = check_path(out, "--out")
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise os_error(out.parent, exc, "cannot create the output folder") from None
    errors_path, events_path = side_paths(out)
    for target in (out, errors_path, events_path):  # regular files only: never a device, FIFO or link
        check_output(target, overwrite=True)
    keys = {r.qid for r in qfile.rows}
    done, torn = _resume(out, keys, overwrite)
    write_jsonl(out, [done[r.qid] for r in qfile.rows if r.qid in done])
    write_csv(errors_path, [], ERROR_COLUMNS)
    lvqa = qfile.format == FORMAT_LVQA_2026
    clips = qfile.clips()
    finished_clips = {c for c, rows in clips.items() if all(r.qid in done for r in rows)}
    if lvqa:
        kept = [e for e in read_csv_rows(events_path) if e.get("video") in finished_clips] if not overwrite else []
        write_csv(events_path, kept)
    pending = [(c, [r for r in rows if r.qid not in done]) for c, rows in clips.items() if c not in finished_clips]
    if (workers or 1) > 1 or ray is not None:
        worker: ClipWorker = ClipWorker(qa_options(predictor.qa), media_root, labels, fps, lvqa)
    else:
        worker = ClipWorker.around(predictor, lvqa)
    answered = failed = 0
    bar = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(total=sum(len(v) for _, v in pending), unit="q", desc=f"megc predict {qfile.path.name}")
    try:
        for result in run_batch(pending, worker, workers, ray):
            clip, todo = result.task
            if result.ok:
                texts, events = result.value
                write_jsonl(out, [r.submission(t) for r, t in zip(todo, texts, strict=True)], append=True)
                if lvqa:
                    write_csv(events_path, events, append=True)
                answered += len(todo)
            else:  # a batch run records the clip's error and goes on
                write_csv(errors_path, [{"video_id": r.qid, "video": r.clip, "question": r.question,
                                         "error": result.error} for r in todo], ERROR_COLUMNS, append=True)
                write_jsonl(out, [r.submission("") for r in todo], append=True)
                failed += len(todo)
            if bar is not None:
                bar.update(len(todo))
    finally:
        if bar is not None:
            bar.close()
    final = {obj["video_id"]: obj for _, obj in read_jsonl(out)}
    write_jsonl(out, [final[r.qid] for r in qfile.rows if r.qid in final])
    has_errors = bool(read_csv_rows(errors_path))
    if not has_errors:
        errors_path.unlink(missing_ok=True)
    return PredictSummary(len(qfile.rows), answered, len(done), failed, out, errors_path if has_errors else None,
                          events_path if lvqa else None, time.perf_counter() - start, torn)


def qa_options(qa: FaceQA) -> dict[str, Any]:
    """The settings a worker process needs to build a FaceQA like ``qa``."""
    return {"answerer": qa.answerer, "bundle": qa.bundle, "convention": qa.convention,
            "deduction_model": qa.deduction_model}


class ClipWorker:
    """Answers one clip's rows for :func:`faceqa.batch.run_batch`: ``run((clip, rows))`` gives (answer texts,
    events-CSV rows). Built from settings (picklable; the FaceQA and its models are made on first use in the
    worker process), or :meth:`around` an existing predictor (in this process)."""

    def __init__(self, options: dict[str, Any], media_root: str | Path | None,
                 au_labels: dict[str, ClipLabels] | None, fps: float | None, lvqa: bool):
        self.options, self.media_root, self.au_labels, self.fps, self.lvqa = options, media_root, au_labels, fps, lvqa
        self._predictor: Predictor | None = None

    @classmethod
    def around(cls, predictor: Predictor, lvqa: bool) -> ClipWorker:
        """A worker that answers with ``predictor`` itself."""
        worker = cls({}, predictor.media_root, predictor.au_labels, predictor.fps, lvqa)
        worker._predictor = predictor
        return worker

    def __getstate__(self) -> dict:
        return {k: v for k, v in self.__dict__.items() if k != "_predictor"} | {"_predictor": None}

    def run(self, task: tuple[str, list[QARow]]) -> tuple[list[str], list[dict[str, str]]]:
        """(answer texts, event rows) of one clip; raises the clip's error."""
        if self._predictor is None:
            self._predictor = Predictor(FaceQA(**self.options), self.media_root, self.au_labels, self.fps)
        clip, rows = task
        answers = self._predictor.answer_clip(rows)
        return [a.text for a in answers], (_event_rows(clip, answers[0]) if self.lvqa else [])


def _event_rows(clip: str, answer: Answer) -> list[dict[str, str]]:
    from faceqa.facs.au_codes import AUCode

    rows = []
    for e in answer.evidence.get("events", []):
        aus = [AUCode(a["au"], a["side"] if a.get("side") in ("L", "R") else None) for a in e["aus"]]
        rows.append(event_row(clip, e["onset"], e["apex"], e["offset"], e["kind"], aus, e["fine"]))
    return rows
