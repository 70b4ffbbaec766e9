"""``faceqa speech MEDIA``: voice activity, transcript with word timings, pauses, rate, pitch and energy."""

from __future__ import annotations

import argparse

from faceqa.cli.output import print_json


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``speech`` subcommand."""
    p = sub.add_parser("speech", help="transcribe a video's speech with word timings, pauses, rate, pitch",
                       description="Speech evidence of a video's or audio file's sound track: Silero VAD spans, "
                                   "PocketSphinx transcript with word timings (English by default), pauses, filled "
                                   "pauses, speech rate, pitch and energy statistics.")
    p.add_argument("media", metavar="MEDIA", help="video or audio file")
    p.add_argument("--out", metavar="FILE", help="write the per-word / per-span table (.csv or .parquet)")
    p.add_argument("--hmm", metavar="DIR", help="PocketSphinx acoustic model folder (default: the wheel's en-us)")
    p.add_argument("--lm", metavar="FILE", help="language model (default: the wheel's en-us)")
    p.add_argument("--dict", metavar="FILE", help="pronouncing dictionary (default: CMUdict)")
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Analyse and print."""
    from pathlib import Path

    from faceqa.errors import InvalidInputError
    from faceqa.speech import SphinxConfig, speech_evidence

    out = Path(args.out) if args.out else None
    if out and (out.suffix.lower() not in (".csv", ".parquet") or not out.parent.is_dir()):
        raise InvalidInputError(f"{out}: --out must be a .csv or .parquet file in an existing folder")
    ev = speech_evidence(args.media, sphinx=SphinxConfig(hmm=args.hmm, lm=args.lm, dictionary=args.dict))
    r = ev.summary()
    if out:
        table = ev.table()
        table.to_csv(out, index=False) if out.suffix.lower() == ".csv" else table.to_parquet(out, index=False)
        r["out"] = str(out)
    if args.json:
        r["words_timed"] = [{"word": w.word, "start_s": round(w.start_s, 2), "end_s": round(w.end_s, 2),
                             "prob": round(w.prob, 3)} for w in ev.words]
        r["voice"] = [[round(a, 3), round(b, 3)] for a, b, _ in ev.voice]
        print_json(r)
        return 0
    print(f"{args.media}: {r['speech_s']:.1f} s of speech in {r['duration_s']:.1f} s, {r['words']} words "
          f"({r['words_per_min']:.0f}/min), {r['pauses']} pauses, {r['filled_pauses']} filled pauses")
    print(f"  transcript: {r['transcript'] or '(none)'}")
    if r["f0_mean_hz"] is not None:
        print(f"  pitch {r['f0_mean_hz']:.0f} Hz (sd {r['f0_std_semitones']:.1f} st), "
              f"energy {r['energy_mean_db']:.1f} dB (sd {r['energy_std_db']:.1f})")
    if out:
        print(f"  table written to {out}")
    return 0
