"""Attribute regression training time on 1,000 faces' features (target: the BLS under 5 s on this CPU).

Features are the real ones that ``scripts/evaluate_attribute_regression.py`` cached (EfficientNet-Lite0
multi-stage + mesh geometry, 2046 columns) when that cache exists, drawn to 1,000 rows with
replacement; otherwise random features of the same width (the solve time depends on the shape only).
Printed: fit time of each regressor at its defaults, then the BLS's incremental updates (100 new
samples; 100 new enhancement nodes) against refitting from scratch.

    python benchmarks/attributes.py [--n 1000] [--cache FILE.npz]
"""

from __future__ import annotations

import argparse
import copy
import sys
import time
from pathlib import Path

import numpy as np

from faceqa.attributes.regressors import make_regressor
from faceqa.llm.cache import cache_root

TARGET_S = 5.0


def features(n: int, cache: Path, seed: int = 0) -> tuple[np.ndarray, np.ndarray, str]:
    """(x (n, d), y (n,), where they came from)."""
    rng = np.random.default_rng(seed)
    if cache.is_file():
        with np.load(cache) as z:
            x, y = z["x"], z["happy"]
        rows = rng.choice(len(x), size=n, replace=len(x) < n)
        return x[rows], y[rows], f"{len(x)} real faces from {cache} (drawn with replacement)"
    x = rng.standard_normal((n, 2046))
    return x, x[:, :10].sum(1) + 0.1 * rng.standard_normal(n), "random features of the same width (no cache)"


def timed(fn) -> float:
    """Seconds ``fn()`` takes."""
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def main(argv: list[str] | None = None) -> int:
    """Print the timings; exit 1 when the BLS misses the target."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--n", type=int, default=1000)
    p.add_argument("--cache", type=Path, default=cache_root() / "attribute_eval" / "faces_every9.npz")
    args = p.parse_args(argv)
    x, y, source = features(args.n, args.cache)
    print(f"{len(x)} faces x {x.shape[1]} features: {source}")
    make_regressor("mlp", epochs=1).fit(x[:10], y[:10])  # torch's one-off start-up is not training time
    times = {}
    for kind in ("ridge", "bls", "erbls", "mlp"):
        times[kind] = timed(lambda kind=kind: make_regressor(kind).fit(x, y))
        print(f"fit {kind:<6} {times[kind]:6.2f} s")
    base = make_regressor("bls").fit(x[:-100], y[:-100])
    grow = copy.deepcopy(base)
    print(f"bls + 100 samples: partial_fit {timed(lambda: grow.partial_fit(x[-100:], y[-100:])):.2f} s "
          f"(first update inverts the system), then +100 enhancement nodes "
          f"{timed(lambda: grow.add_enhancement_nodes(100)):.2f} s; "
          f"refit from scratch {timed(lambda: copy.deepcopy(grow).fit_weights(x, y)):.2f} s")
    ok = times["bls"] < TARGET_S
    print(f"BLS on {len(x)} faces: {times['bls']:.2f} s ({'under' if ok else 'OVER'} the {TARGET_S:g} s target)")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
