"""Run many ``faceqa`` command lines in one process, each under a time limit (used by test_fuzz.py).

``python fuzz_runner.py CASES.json RESULTS.jsonl``: CASES is a list of ``{"id", "argv"[, "stdin"]}``;
for each case a ``{"start": id}`` line is written (flushed) before it runs and a result line after
it, so a crash (a signal) leaves the case that caused it as the last ``start``. A case over its time
limit is stopped by SIGALRM and recorded as ``"hang"``. The argument parser is built once and reused
(building it takes longer than most bad-input cases).
"""

from __future__ import annotations

import contextlib
import io
import json
import signal
import sys
import time

TIME_LIMIT_S = 20


class CaseTimeout(BaseException):
    """Raised by SIGALRM in a case that ran past its limit (a BaseException: no ``except Exception`` eats it)."""


def _alarm(signum, frame):  # noqa: ARG001 - signal handler signature
    raise CaseTimeout


def run_case(argv: list[str], stdin: str) -> dict:
    """Run ``faceqa ARGV`` in-process; its exit code, stderr, and whether it hung."""
    from faceqa.cli.main import main

    out, err = io.StringIO(), io.StringIO()
    old_in = sys.stdin
    sys.stdin = io.StringIO(stdin)
    signal.alarm(TIME_LIMIT_S)
    start = time.perf_counter()
    hang = False
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                rc = main(argv)
            except SystemExit as exc:  # argparse usage errors
                rc = exc.code if isinstance(exc.code, int) else 2
    except CaseTimeout:
        rc, hang = None, True
    finally:
        signal.alarm(0)
        sys.stdin = old_in
    return {"rc": rc, "hang": hang, "stderr": err.getvalue()[-2000:], "seconds": round(time.perf_counter() - start, 3)}


def main() -> None:
    """Run the cases file into the results file."""
    import faceqa.cli.main as cli

    with open(sys.argv[1], encoding="utf-8") as f:
        cases = json.load(f)
    parser = cli.build_parser()
    cli.build_parser = lambda: parser
    signal.signal(signal.SIGALRM, _alarm)
    with open(sys.argv[2], "w", encoding="utf-8", errors="backslashreplace") as results:
        for case in cases:
            results.write(json.dumps({"start": case["id"]}) + "\n")
            results.flush()
            result = run_case(case["argv"], case.get("stdin", ""))
            results.write(json.dumps({"id": case["id"], **result}) + "\n")
            results.flush()


if __name__ == "__main__":
    main()
