"""Scoring the evidence pass against hand labels (faceqa.evidence.labelled_events) and the shipped label file."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from faceqa.errors import InvalidInputError
from faceqa.evidence.labelled_events import LabelledClip, LabelledEvent, PredictedEvent, load_labelled_clips, score_clip

LABELS = Path(__file__).parent / "data" / "real_events.json"


def _clip() -> LabelledClip:
    events = (LabelledEvent(10, 15, 20, (12,)), LabelledEvent(40, 44, 50, (4, 7)),
              LabelledEvent(70, 72, 75, (1,), uncertain=True))
    return LabelledClip("c", "c.mp4", 25.0, 120, "tune", events, talking=((90, 119),))


def test_the_shipped_labels_load_with_the_split_fixed():
    clips = load_labelled_clips(LABELS)
    assert {n for n, c in clips.items() if c.split == "tune"} == {"d6", "d20", "WolfgangLanger_Pexels", "single_face"}
    assert {n for n, c in clips.items() if c.split == "report"} == {"d3", "d10", "short_hamilton_clip"}
    assert sum(len(c.events) for c in clips.values()) > 90


def test_hits_misses_false_events_and_dont_care():
    predicted = [PredictedEvent(11, 19, (12, 6)),   # hit, AU right
                 PredictedEvent(41, 49, (9,)),       # hit, AU wrong
                 PredictedEvent(71, 75, (1,)),       # on the uncertain event: don't care
                 PredictedEvent(95, 105, (25,)),     # false, while talking
                 PredictedEvent(0, 5, (2,))]         # false
    s = score_clip(_clip(), predicted)
    assert (s.hits, s.au_hits, s.misses, s.false_events, s.false_in_talking, s.dont_care) == (2, 1, 0, 2, 1, 1)
    assert s.precision == pytest.approx(0.5) and s.recall == 1.0 and s.f1 == pytest.approx(2 / 3)
    assert s.au_share == 0.5 and s.counts.tp == 2


def test_a_missed_event_and_sums_over_clips():
    s = score_clip(_clip(), [PredictedEvent(10, 20, (12,))])
    assert (s.hits, s.misses, s.false_events) == (1, 1, 0)
    total = s + score_clip(_clip(), [])
    assert (total.hits, total.misses) == (1, 3) and total.recall == pytest.approx(0.25)


def test_a_bad_label_file_names_the_clip_and_field(tmp_path):
    bad = tmp_path / "labels.json"
    bad.write_text(json.dumps({"clips": {"x": {"path": "x.mp4", "fps": 25, "n_frames": 10, "split": "tune",
                                               "events": [{"onset": 5, "apex": 3, "offset": 8, "aus": [12]}]}}}))
    with pytest.raises(InvalidInputError, match="clip 'x'.*onset <= apex <= offset"):
        load_labelled_clips(bad)
    bad.write_text(json.dumps({"clips": {"x": {"fps": 25}}}))
    with pytest.raises(InvalidInputError, match="clip 'x': bad or missing field"):
        load_labelled_clips(bad)
    with pytest.raises(InvalidInputError, match="not found"):
        load_labelled_clips(tmp_path / "none.json")
