"""The LLM and the composer asked about hand-labelled events of real videos, side by side.

For every labelled event of :mod:`faceqa.evidence.labelled_events` not marked ``uncertain``, the
evidence pass runs over the event's onset..offset as ``faceqa ask --onset --offset`` does (clip
mode, the onset frame as the neutral reference), and both answerers answer from the same facts:

- the AU list ("What is the action unit?" for one labelled AU, "What are the action units?" for
  more), scored by AU-set F1 against the labelled AUs (labelled AUs that faceqa does not measure,
  such as a wink or a tongue show, count as misses for both);
- "Is the action unit X shown on the face?" for the first labelled AU the evidence pass measures
  (reference ``yes``) and for one AU not labelled (``no``; a fixed pick that varies by event),
  scored by accuracy.

These are real faces nobody on the team recorded, labelled by hand (the label file's protocol says
how); the MEGC-style figures on held-out subjects use oracle AU labels instead of video.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from faceqa.evidence.au_intensity import INTENSITY_AUS
from faceqa.evidence.labelled_events import LabelledClip, LabelledEvent
from faceqa.facs.units import au_by_number
from faceqa.qa.questions import PRESENCE_CANDIDATES

ANSWERERS = ("llm", "composer")


def event_questions(event: LabelledEvent, index: int) -> list[tuple[str, str, str]]:
    """``(kind, question, reference)`` for one labelled event: the AU list and two presence questions."""
    aus = sorted(set(event.aus))
    plural = len(aus) > 1
    reference = ", ".join(au_by_number(a).name for a in aus)
    out = [("aus", "What are the action units?" if plural else "What is the action unit?", reference)]
    measured = [a for a in event.aus if a in INTENSITY_AUS]
    if measured:
        out.append(("au_present", f"Is the action unit {au_by_number(measured[0]).name} shown on the face?", "yes"))
    absent = [a for a in PRESENCE_CANDIDATES if a not in aus]
    pick = absent[(7 * index) % len(absent)]
    out.append(("au_present", f"Is the action unit {au_by_number(pick).name} shown on the face?", "no"))
    return out


def answer_events(clips: Iterable[LabelledClip], data_dir: str | Path, bundle: str | Path | None = None,
                  progress: bool = True) -> list[dict]:
    """Ask both answerers about every certain labelled event; one row per question (answers of both).

    A clip whose video is missing or unreadable, or an event whose window shows no face, is recorded
    with an ``error`` instead of its answers, and the run goes on.
    """
    from tqdm.auto import tqdm

    from faceqa.errors import FaceQAError
    from faceqa.qa.api import FaceQA
    from faceqa.qa.clip import analyze_clip, default_pipeline

    asked = {name: FaceQA(answerer=name, bundle=bundle) for name in ANSWERERS}
    pipeline = default_pipeline()  # its models load once for every event
    work = [(c, i, e) for c in clips for i, e in enumerate(c.events) if not e.uncertain]
    rows: list[dict] = []
    for clip, i, event in tqdm(work, desc="labelled events", unit="event", disable=not progress):
        base = {"clip": clip.name, "split": clip.split, "onset": event.onset, "offset": event.offset,
                "labelled_aus": "+".join(str(a) for a in event.aus)}
        questions = event_questions(event, i)
        try:
            analysis = analyze_clip(Path(data_dir) / clip.path, fps=clip.fps, start=event.onset, end=event.offset,
                                    mode="clip", pipeline=pipeline)
            facts = analysis.facts(event.onset, event.offset, clip=clip.name)
            said = {name: qa.answer_facts(facts, [q for _, q, _ in questions], analysis.evidence)
                    for name, qa in asked.items()}
        except FaceQAError as exc:
            rows.append(base | {"error": str(exc)})
            continue
        for n, (kind, question, reference) in enumerate(questions):
            rows.append(base | {"kind": kind, "question": question, "reference": reference}
                        | {name: said[name][n].text for name in ANSWERERS}
                        | {f"{name}_answerer": said[name][n].answerer for name in ANSWERERS})
    return rows


def score_rows(rows: list[dict]) -> dict[str, dict[str, float | int]]:
    """Per answerer: mean AU-set F1 of the AU lists, presence accuracy, and how many of each were asked."""
    from faceqa.megc.evaluate import read_au_set, set_f1

    answered = [r for r in rows if "error" not in r]
    lists = [r for r in answered if r["kind"] == "aus"]
    present = [r for r in answered if r["kind"] == "au_present"]
    out: dict[str, dict[str, float | int]] = {}
    for name in ANSWERERS:
        f1 = [set_f1(read_au_set(r[name])[0], {int(a) for a in r["labelled_aus"].split("+")}) for r in lists]
        out[name] = {"au_f1": round(sum(f1) / len(f1), 4) if f1 else float("nan"), "au_lists": len(lists),
                     "presence_accuracy": (round(sum(r[name] == r["reference"] for r in present) / len(present), 4)
                                           if present else float("nan")),
                     "presence_questions": len(present)}
    return out
