"""LLM answer latency with SmolLM2 + the default AULLM++ bundle on this CPU.

Prints the median latency of one short MEGC answer (a coarse-class question about one clip;
target <= 1.0 s), and questions per second when the 6 MEGC questions of a clip are answered
together (the evidence prefix computed once, its KV cache reused).

    python benchmarks/llm_answer.py [--bundle DIR] [--repeats 10] [--threads N]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time


def main() -> None:
    """Print the figures."""
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bundle", help="bundle folder (default: the installed default bundle)")
    ap.add_argument("--repeats", type=int, default=10)
    ap.add_argument("--threads", type=int, help="torch threads (default: torch's choice)")
    args = ap.parse_args()
    import torch

    from faceqa.aullm.answerer import default_bundle_path, load_answerer
    from faceqa.facs.au_codes import parse_aus
    from faceqa.qa.facts import facts_from_labels
    from faceqa.train.examples import Q_AUS, Q_COARSE, Q_COMPOUND, Q_FINE, Q_PRESENT, Q_SIDE

    if args.threads:
        torch.set_num_threads(args.threads)
    bundle = args.bundle or default_bundle_path()
    if bundle is None:
        sys.exit("no bundle installed (adapters/default); train one with faceqa train")
    t0 = time.perf_counter()
    answerer = load_answerer(bundle)
    print(f"bundle {bundle}: loaded in {time.perf_counter() - t0:.1f} s (a first load also converts the GGUF "
          "into the cache)")
    codes = ["4+7", "R12", "1+2", "15+17", "L10", "6+12", "9", "14"]
    latencies = []
    for i in range(args.repeats):
        facts = facts_from_labels(parse_aus(codes[i % len(codes)]))
        t = time.perf_counter()
        answer = answerer.answer(facts, None, [Q_COARSE])[0]
        latencies.append(time.perf_counter() - t)
    print(f"one short answer ({Q_COARSE!r} -> {answer!r}): median {statistics.median(latencies):.3f} s, "
          f"min {min(latencies):.3f} s over {args.repeats}; target <= 1.0 s: "
          f"{'met' if statistics.median(latencies) <= 1.0 else 'MISSED'}")
    questions = [Q_COARSE, Q_FINE, Q_AUS[1], Q_PRESENT.format(au="brow lowerer"), Q_SIDE.format(au="lid tightener"),
                 Q_COMPOUND[1]]
    facts = facts_from_labels(parse_aus("4+R7"))
    t = time.perf_counter()
    rounds = max(1, args.repeats // 3)
    for _ in range(rounds):
        answers = answerer.answer(facts, None, questions)
    dt = time.perf_counter() - t
    print(f"batch of {len(questions)} questions about one clip: {rounds * len(questions) / dt:.2f} questions/s "
          f"({dt / rounds:.2f} s per clip)")
    for q, a in zip(questions, answers, strict=True):
        print(f"  Q: {q}\n  A: {a}")


if __name__ == "__main__":
    main()
