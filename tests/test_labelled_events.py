"""Scoring the evidence pass against hand labels (faceqa.evidence.labelled_events) and the shipped label file."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from faceqa.errors import InvalidInputError
from faceqa.evidence.labelled_events import (
    LabelledClip,
    LabelledEvent,
    PredictedEvent,
    load_labelled_clips,
    mean_clip_f1,
    miss_kind,
    overall_summary,
    score_clip,
    wilson_interval,
)

LABELS = Path(__file__).parent / "data" / "real_events.json"


def _clip() -> LabelledClip:
    events = (LabelledEvent(10, 15, 20, (12,)), LabelledEvent(40, 44, 50, (4, 7)),
              LabelledEvent(70, 72, 75, (1,), uncertain=True))
    return LabelledClip("c", "c.mp4", 25.0, 120, "tune", events, talking=((90, 119),))


MEAD_TUNE = ("m030_angry", "m030_surprised", "m030_neutral", "w009_sad", "w009_happy", "w009_neutral")


def test_the_shipped_labels_load_with_the_split_fixed():
    clips = load_labelled_clips(LABELS)
    assert {n for n, c in clips.items() if c.split == "tune"} == {"d6", "d20", "WolfgangLanger_Pexels", "single_face",
                                                                  "d9", "d11", "d13", "vr2", "vr4",
                                                                  "st_furious1", "st_furious2",
                                                                  *(f"st6_furious_{x}" for x in "abcdef"),
                                                                  "st7_furious1a", "lp_s29", "sad_katie",
                                                                  *(f"mead_{x}" for x in MEAD_TUNE),
                                                                  "eamm_contempt", "eamm_happy", "lia_vox2", "lia_vox3",
                                                                  "meg_entf2"}
    assert {n for n, c in clips.items() if c.split == "report"} == {
        "d3", "d10", "short_hamilton_clip", "d0", "d12", "d14", "d18", "d19", "vr1", "vr3", "vr5",
        "st_happyenglish", "st_nice", "st_sad", "st_sadfather", "st_trump", "st_surprise", "st_feifei",
        "st5_kristi", "st5_obama", "st5_andrew", "st5_reagan", "st5_feifei", "st5_happy", "st5_sadgirl", "st5_vscode",
        "st5_spata", "st6_obama2", "st6_obama3", "st6_andrew2", "st6_feifei2", "lp_s18", "lp_s20", "lp_s32", "sad_aoc",
        "tpsmm_jackie", "r3d_may", "mead_w011_disgusted", "muse_sun", "iplap_129", "dpe_d", "dpe_s",
        "mead_w011_neutral", "dagan_driving", "eamm_disgusted", "eamm_fear", "eamm_surprised", "headgan_drv",
        "meg_chtf2", "meg_chtf3", "meg_chtf4", "meg_entf1", "minim_drv", "xport_drv", "lia_vox1", "lia_obama",
        *(f"pcavs_{x}" for x in ("harris", "downey", "adams", "farah", "christie")),
        *(f"sky_{x}" for x in ("comic", "portman", "purple")), "fadm_driving",
        *(f"spectre_{x}" for x in ("w036happy", "w040happy", "m026disgust", "m003disgust", "w023surprise")),
        "smirk_dafoe", "smirk_skarsgard"}
    # the clips from outside the shared data say where they come from and which file was labelled
    outside = [c for c in clips.values() if c.source]
    assert len(outside) == 96 and all(len(c.sha256) == 64 for c in outside)
    repos = ("LivePortrait", "video-retalking", "styletalk", "SadTalker", "Thin-Plate-Spline", "Real3DPortrait",
             "dreamtalk", "MuseTalk", "IP_LAP", "DPE", "DaGAN", "X-Portrait", "megactor", "LIA", "headGAN",
             "MiniMates", "EAMM", "PC-AVS", "SkyReels-A1", "FADM", "spectre", "smirk")
    assert [sum(repo in c.source for c in outside) for repo in repos] == [12, 5, 29, 2, 1, 1, 8, 1, 1, 2, 1,
                                                                          1, 5, 4, 1, 1, 5, 5, 3, 1, 5, 2]
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


def test_each_miss_says_how_it_was_missed():
    """The 10-20 smile is spotted only in part (too short), the 40-50 frown inside one long event that
    also covers the talking (too long), and nothing is spotted near a third event (unseen); the counts
    add up over clips and reach the summary."""
    clip = LabelledClip("c", "c.mp4", 25.0, 200, "tune", (LabelledEvent(10, 15, 20, (12,)),
                        LabelledEvent(40, 44, 50, (4,)), LabelledEvent(150, 155, 160, (1, 2))))
    s = score_clip(clip, [PredictedEvent(14, 17, (12,)), PredictedEvent(30, 110, (4,))])
    assert s.misses == 3 and s.miss_kinds == ["too_short", "too_long", "unseen"]
    assert s.miss_counts() == {"unseen": 1, "too_long": 1, "too_short": 1}
    both = s + score_clip(clip, [])
    assert both.summary()["missed_unseen"] == 4 and len(both.miss_kinds) == 6
    assert miss_kind(clip.events[0], [PredictedEvent(0, 9, ()), PredictedEvent(21, 40, ())]) == "unseen"


def test_au_naming_is_scored_au_by_au_over_the_hits():
    predicted = [PredictedEvent(11, 19, (12, 6)), PredictedEvent(41, 49, (9,)), PredictedEvent(95, 105, (25,))]
    s = score_clip(_clip(), predicted)
    assert (s.aus_named, s.aus_named_labelled, s.aus_labelled, s.aus_labelled_named) == (3, 1, 3, 1)
    assert s.au_precision == pytest.approx(1 / 3) and s.au_label_recall == pytest.approx(1 / 3)
    # AU7 is not one the detector reads: it is not held against the label recall
    readable = score_clip(_clip(), predicted, readable_aus={4, 6, 9, 12, 25})
    assert readable.au_label_recall == pytest.approx(1 / 2) and readable.au_precision == pytest.approx(1 / 3)
    both = readable + score_clip(_clip(), [PredictedEvent(10, 20, (12,))])
    assert both.aus_named == 4 and both.au_precision == pytest.approx(1 / 2)
    assert both.summary()["aus_per_hit"] == pytest.approx(4 / 3, abs=0.01)
    assert score_clip(_clip(), []).summary()["aus_per_hit"] is None


def test_precision_and_recall_come_with_wilson_intervals():
    lo, hi = wilson_interval(10, 15)  # the textbook 95 % interval of 10/15
    assert lo == pytest.approx(0.417, abs=1e-3) and hi == pytest.approx(0.848, abs=1e-3)
    assert wilson_interval(0, 5)[0] == 0.0 and wilson_interval(5, 5)[1] == 1.0 and wilson_interval(0, 0) is None
    many, few = wilson_interval(300, 400), wilson_interval(3, 4)
    assert many[1] - many[0] < few[1] - few[0]
    s = score_clip(_clip(), [PredictedEvent(11, 19, (12,)), PredictedEvent(0, 5, (2,))]).summary()
    assert s["precision_ci95"] == [round(v, 3) for v in wilson_interval(1, 2)]
    assert s["recall_ci95"] == [round(v, 3) for v in wilson_interval(1, 2)]
    assert score_clip(_clip(), []).summary()["precision_ci95"] is None


def test_a_missed_event_and_sums_over_clips():
    s = score_clip(_clip(), [PredictedEvent(10, 20, (12,))])
    assert (s.hits, s.misses, s.false_events) == (1, 1, 0)
    total = s + score_clip(_clip(), [])
    assert (total.hits, total.misses) == (1, 3) and total.recall == pytest.approx(0.25)


def test_the_mean_f1_counts_only_clips_with_events_that_count():
    """The tune criterion: per-clip F1 averaged over the clips with labelled events (a talking-only clip, or
    one whose events are all don't-care, has no F1 to give); pooled figures would let the biggest clip decide."""
    found = score_clip(_clip(), [PredictedEvent(11, 19, (12,)), PredictedEvent(41, 49, (4,))])  # F1 1.0
    missed = score_clip(_clip(), [])  # F1 0.0
    quiet = LabelledClip("q", "q.mp4", 25.0, 50, "tune", (LabelledEvent(5, 8, 12, (12,), uncertain=True),))
    silent = score_clip(quiet, [PredictedEvent(20, 30, (1,))])  # a false event, but nothing to find
    assert mean_clip_f1([found, missed, silent]) == pytest.approx(0.5)
    assert (found + missed + silent).f1 == pytest.approx(2 * (2 / 3) * 0.5 / (2 / 3 + 0.5))  # pooled: 0.571
    assert mean_clip_f1([silent]) is None and mean_clip_f1([]) is None
    # the split's summary says what the mean cannot see: the clips with nothing to find, and their false events
    overall = overall_summary([found, missed, silent])
    assert overall["mean_clip_f1"] == 0.5 and overall["false"] == 1
    assert (overall["clips_without_events"], overall["false_without_events"]) == (1, 1)


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


def test_talking_frames_are_scored_against_the_labelled_spans():
    s = score_clip(_clip(), [], talking_frames=range(80, 110))  # labelled talking 90-119
    assert (s.talk_frames_hit, s.talk_frames_extra, s.talk_frames_missed) == (20, 10, 10)
    assert s.talking_precision == pytest.approx(2 / 3) and s.talking_recall == pytest.approx(2 / 3)
    total = s + score_clip(_clip(), [], talking_frames=[])
    assert total.talking_recall == pytest.approx(20 / 60) and total.talking_precision == pytest.approx(2 / 3)
    unscored = score_clip(_clip(), [])
    assert unscored.talking_precision is None and unscored.summary()["talking_recall"] is None


def test_a_scored_clip_is_pictured_with_each_spotted_event_judged(tmp_path):
    import pandas as pd

    from faceqa.evidence.au_intensity import intensity_columns
    from faceqa.evidence.labelled_plot import outcome, plot_labelled_clip

    predicted = [PredictedEvent(11, 19, (12,)), PredictedEvent(71, 75, (1,)), PredictedEvent(0, 5, (2,))]
    score = score_clip(_clip(), predicted, talking_frames=range(90, 120))
    assert [outcome(score, p) for p in predicted] == ["hit", "don't care", "false"]
    frames = np.arange(120)
    table = pd.DataFrame({"frame": frames, "talking": frames >= 90}
                         | {c: np.where((frames >= 10) & (frames <= 20), 3.0, 0.0) for c in intensity_columns()})
    out = plot_labelled_clip(table, _clip(), predicted, score, tmp_path / "c.png")
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and out.stat().st_size > 10_000
    with pytest.raises(InvalidInputError, match="plot is saved as"):
        plot_labelled_clip(table, _clip(), predicted, score, tmp_path / "c.unknownext")


def _script():
    import importlib.util

    spec = importlib.util.spec_from_file_location("evaluate_real_events", LABELS.parents[2] / "scripts"
                                                  / "evaluate_real_events.py")
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    return script


def test_the_evaluation_script_leaves_out_clips_it_does_not_have(shared_data, tmp_path):
    """A clip whose video is in no --data folder, or is another file than the labelled one, is left out
    with the reason (and where to get it); the clips that are there are still scored."""
    doc = json.loads(LABELS.read_text())
    keep = doc["clips"]["single_face"]
    doc["clips"] = {"single_face": keep,
                    "ghost": keep | {"path": "videos/elsewhere/ghost.mp4", "source": "github:someone/clips ghost.mp4"},
                    "changed": keep | {"sha256": "0" * 64}}
    labels = tmp_path / "labels.json"
    labels.write_text(json.dumps(doc))
    out = tmp_path / "figures.json"
    other = tmp_path / "empty"
    other.mkdir()
    assert _script().main(["--labels", str(labels), "--data", str(other), "--data", str(shared_data),
                           "--json", str(out)]) == 0
    rows = json.loads(out.read_text())["tune"]
    assert "get it from github:someone/clips ghost.mp4" in rows["ghost"]["left_out"]
    assert "SHA-256 differs" in rows["changed"]["left_out"]
    assert rows["single_face"]["labelled"] == 1 and rows["overall"]["labelled"] == 1
    assert rows["overall"]["mean_clip_f1"] == rows["single_face"]["f1"]
    with pytest.raises(SystemExit, match="not a folder"):
        _script().main(["--labels", str(labels), "--data", str(tmp_path / "nowhere")])


def test_the_evaluation_script_scores_and_pictures_a_real_clip(shared_data, tmp_path):
    """scripts/evaluate_real_events.py on the shortest labelled clip: figures in the JSON (talking frames
    included) and one picture per clip; a --plot path that cannot be a folder and an unknown --param are
    refused in one line."""
    script = _script()
    out = tmp_path / "figures.json"
    args = ["--clips", "single_face", "--data", str(shared_data), "--json", str(out), "--plot", str(tmp_path / "p")]
    assert script.main(args) == 0
    row = json.loads(out.read_text())["tune"]["single_face"]
    assert row["labelled"] == 1 and row["hits"] + row["missed"] == 1
    assert row["talking_frames_marked"] == 0 and row["talking_precision"] is None
    assert (tmp_path / "p" / "single_face.png").stat().st_size > 10_000
    with pytest.raises(SystemExit, match="cannot make that folder"):
        script.main(["--clips", "single_face", "--data", str(shared_data), "--plot", str(out / "x")])
    with pytest.raises(SystemExit, match="unknown spotting parameter 'nope'"):
        script.main(["--clips", "single_face", "--data", str(shared_data), "--param", "nope=1"])


def test_the_evaluation_script_sweeps_a_spotting_parameter(shared_data, tmp_path, capsys):
    """--sweep NAME=V1,V2: the clips scored again at each value, in order and once each (the default value
    gives the main figures, a huge threshold spots nothing), one printed line per value, the rows in the
    JSON and, with --plot, a picture of the trade-off; a sweep with no clip scored says so; a sweep that
    is not NAME=numbers, or names no spotting parameter, is refused in one line."""
    script = _script()
    out = tmp_path / "figures.json"
    base = ["--clips", "single_face", "--data", str(shared_data), "--json", str(out)]
    assert script.main(base + ["--sweep", "threshold=50,2,2", "--plot", str(tmp_path / "p")]) == 0
    figures = json.loads(out.read_text())
    assert figures["sweep"]["parameter"] == "threshold"
    at_default, at_huge = figures["sweep"]["rows"]
    assert at_default["value"] == 2 and at_default["tune"] == figures["tune"]["overall"]
    assert at_huge["tune"]["predicted"] == 0 and at_huge["tune"]["recall"] == 0
    printed = capsys.readouterr().out
    assert "threshold=2: tune P" in printed and "threshold=50: tune P 0.00 R 0.00" in printed
    assert (tmp_path / "p" / "sweep_threshold.png").stat().st_size > 10_000
    assert script.main(["--clips", "no_such_clip", "--data", str(shared_data), "--json", str(out),
                        "--sweep", "threshold=1,2"]) == 0
    assert "no clip was scored, so there is nothing to sweep" in capsys.readouterr().out
    assert "sweep" not in json.loads(out.read_text())
    for bad, why in (("threshold=abc", "expected NAME=V1,V2"), ("threshold", "expected NAME=V1,V2"),
                     ("nope=1,2", "unknown spotting parameter 'nope'"), ("threshold=-1", "finite number >= 0")):
        with pytest.raises(SystemExit, match=why):
            script.main(base + ["--sweep", bad])


def test_the_evaluation_script_keeps_measurements_in_a_cache(shared_data, tmp_path, monkeypatch):
    """--cache DIR: the first run measures the clip and keeps it; later runs only re-spot the kept
    measurements (same figures; --param still applies), and an unreadable entry is measured again."""
    import faceqa.evidence.extract as extract

    script = _script()
    out, cache = tmp_path / "figures.json", tmp_path / "cache"
    args = ["--clips", "single_face", "--data", str(shared_data), "--json", str(out), "--cache", str(cache)]
    assert script.main(args) == 0
    first = json.loads(out.read_text())["tune"]["single_face"]
    kept = list(cache.glob("single_face-*.pkl"))
    assert len(kept) == 1 and first["from_cache"] is False and first["predicted"] >= 1

    def no_measuring(*a, **k):
        raise AssertionError("measured again")

    monkeypatch.setattr(extract, "extract_evidence", no_measuring)
    assert script.main(args) == 0
    again = json.loads(out.read_text())["tune"]["single_face"]
    assert again["from_cache"] is True
    assert {k: v for k, v in again.items() if k not in ("seconds", "from_cache")} == \
        {k: v for k, v in first.items() if k not in ("seconds", "from_cache")}
    assert script.main(args + ["--param", "threshold=50"]) == 0
    assert json.loads(out.read_text())["tune"]["single_face"]["predicted"] == 0
    monkeypatch.undo()
    kept[0].write_bytes(b"not a pickle")
    assert script.main(args) == 0
    assert json.loads(out.read_text())["tune"]["single_face"]["from_cache"] is False
    with pytest.raises(SystemExit, match="cannot make that folder"):
        script.main(["--clips", "single_face", "--data", str(shared_data), "--cache", str(out / "x")])


def test_outside_clips_are_gathered_from_checkouts_and_checked(tmp_path, capsys):
    """scripts/gather_outside_clips.py copies each clip with a source from the checkout that holds it to its
    labelled path, and reports (exit 1) a clip in no checkout, one whose file differs and a malformed source."""
    import hashlib
    import importlib.util
    import zipfile

    spec = importlib.util.spec_from_file_location("gather_outside_clips", LABELS.parents[2] / "scripts"
                                                  / "gather_outside_clips.py")
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    checkout = tmp_path / "repo"
    (checkout / "assets").mkdir(parents=True)
    (checkout / "assets" / "a.mp4").write_bytes(b"clip a")
    (checkout / "assets" / "c.mp4").write_bytes(b"not the labelled c")
    other = tmp_path / "other"
    (other / "assets").mkdir(parents=True)
    (other / "assets" / "a.mp4").write_bytes(b"another a")
    (other / "assets" / "e.mp4").write_bytes(b"clip e")
    with zipfile.ZipFile(other / "misc.zip", "w") as z:  # a clip kept inside an archive of the repository
        z.writestr("inner/f.mp4", b"clip f")
    (checkout / "misc.zip").write_bytes(b"not a zip archive")

    def clip(path: str, source: str = "", sha: str = "") -> dict:
        return {"path": path, "fps": 25, "n_frames": 10, "split": "tune", "events": [], "source": source,
                "sha256": sha}

    labels = tmp_path / "labels.json"
    labels.write_text(json.dumps({"clips": {
        "a": clip("videos/x/a.mp4", "github:o/r assets/a.mp4 (commit 1)", hashlib.sha256(b"clip a").hexdigest()),
        "b": clip("videos/x/b.mp4", "github:o/r assets/b.mp4 (commit 1)"),
        "c": clip("videos/x/c.mp4", "github:o/r assets/c.mp4 (commit 1)", hashlib.sha256(b"clip c").hexdigest()),
        "bad": clip("videos/x/d.mp4", "somewhere"),
        "e": clip("videos/y/e.mp4", "github:o/s assets/e.mp4 (commit 2)", hashlib.sha256(b"clip e").hexdigest()),
        "f": clip("videos/z/f.mp4", "github:o/s misc.zip::inner/f.mp4 (commit 2)",
                  hashlib.sha256(b"clip f").hexdigest()),
        "g": clip("videos/z/g.mp4", "github:o/s misc.zip::inner/g.mp4 (commit 2)"),
        "shared": clip("videos/shared.mp4")}}))
    out = tmp_path / "outside"
    args = ["--checkout", str(other), "--checkout", str(checkout), "--to", str(out), "--labels", str(labels)]
    assert script.main(args) == 1
    assert (out / "videos" / "x" / "a.mp4").read_bytes() == b"clip a"  # the labelled a, not the other one
    assert (out / "videos" / "y" / "e.mp4").read_bytes() == b"clip e"
    assert (out / "videos" / "z" / "f.mp4").read_bytes() == b"clip f"
    assert sorted(p.name for p in out.rglob("*.mp4")) == ["a.mp4", "e.mp4", "f.mp4"]
    err = capsys.readouterr().err
    assert "b: assets/b.mp4 not found in" in err and "c: assets/c.mp4 is not the labelled file" in err
    assert "g: misc.zip::inner/g.mp4 not found in" in err
    assert "'somewhere'" in err and "skipped a:" not in err and "skipped e:" not in err
    with pytest.raises(SystemExit, match="not a folder"):
        script.main(["--checkout", str(tmp_path / "none"), "--to", str(out), "--labels", str(labels)])


def test_the_answers_script_leaves_out_clips_it_does_not_have(tmp_path, capsys):
    """scripts/evaluate_real_answers.py finds clips the way evaluate_real_events.py does: a clip in no
    --data folder is left out with the reason, and the run still prints its (empty) scores."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("evaluate_real_answers", LABELS.parents[2] / "scripts"
                                                  / "evaluate_real_answers.py")
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    labels = tmp_path / "labels.json"
    labels.write_text(json.dumps({"clips": {"ghost": {
        "path": "videos/ghost.mp4", "fps": 25, "n_frames": 5, "split": "tune", "source": "github:o/r ghost.mp4",
        "events": [{"onset": 0, "apex": 1, "offset": 2, "aus": [12]}]}}}))
    assert script.main(["--labels", str(labels), "--data", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "ghost: left out: videos/ghost.mp4 is in none of" in out and "get it from github:o/r ghost.mp4" in out
    assert "overall:" in out
