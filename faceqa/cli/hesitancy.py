"""``faceqa hesitancy VIDEO``: hesitancy cues (face, speech, words, their conflict) and, given a trained
model, the class probabilities."""

from __future__ import annotations

import argparse

from faceqa.cli.output import print_json


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``hesitancy`` subcommand."""
    p = sub.add_parser("hesitancy", help="measure ambivalence/hesitancy cues of a talking-face video",
                       description="Pool the face's expression and AU intensities over the clip, measure speech "
                                   "(pauses, filled pauses, rate, pitch), the transcript's sentiment and hedges, and "
                                   "where face and words disagree. With --model (from train-hesitancy), also classify.")
    p.add_argument("video", metavar="VIDEO", help="video file with a face and a sound track")
    p.add_argument("--model", metavar="DIR", help="a model folder written by `faceqa train-hesitancy`")
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Measure and print."""
    from faceqa.hesitancy import hesitancy_cues

    cues = hesitancy_cues(args.video)
    r = cues.to_dict()
    if args.model:
        from faceqa.hesitancy.model import PrototypeFusion, predict

        model = PrototypeFusion.from_pretrained(args.model)
        probs = predict(model, [cues.vectors()])[0]
        r["prediction"] = {c: round(float(p), 4) for c, p in zip(model.config.classes, probs, strict=True)}
    if args.json:
        print_json(r)
        return 0
    print(f"{args.video}: {r['duration_s']:.1f} s; transcript: {r['transcript'] or '(none)'}")
    for m in ("face", "speech", "text", "conflict"):
        d = r[m]
        if d is None:
            print(f"  {m}: missing")
            continue
        keys = {"face": ["face_frames", "emotion_happy_mean", "emotion_neutral_mean", "emotion_sad_mean"],
                "speech": ["speech_ratio", "words_per_min", "pauses", "filled_pauses", "f0_std_semitones"],
                "text": ["vader_compound", "vader_pos", "vader_neg", "hedges_per_100_words"],
                "conflict": ["valence_gap", "valence_sign_conflict", "face_mixed", "text_mixed"]}[m]
        print(f"  {m}: " + ", ".join(f"{k} {d[k]}" for k in keys if k in d))
    if "prediction" in r:
        print("  prediction: " + ", ".join(f"{c} {p:.2f}" for c, p in r["prediction"].items()))
    else:
        print("  (no classifier: train one with `faceqa train-hesitancy --data DIR --out MODEL`, then --model MODEL)")
    return 0
