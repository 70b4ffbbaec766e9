"""``faceqa train --config FILE``: train an AULLM++ adapter bundle (see faceqa.train.config)."""

from __future__ import annotations

import argparse

from faceqa.cli.output import print_json


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``train`` subcommand."""
    p = sub.add_parser("train", help="train an AULLM++ adapter bundle from a TOML/JSON config",
                       description="Train the AULLM++ model (LoRA LLM + MGE-EFP projector + R-AUGNN) on MEGC QA and "
                                   "CAS(ME)^3 labels; same command on CPU, one GPU, or `accelerate launch`.")
    p.add_argument("--config", required=True, help="training config (.toml or .json)")
    p.add_argument("--steps", type=int, help="override the number of steps")
    p.add_argument("--output-dir", help="override output_dir")
    p.add_argument("--evaluate", metavar="BUNDLE",
                   help="do not train: re-measure the class calibration of this bundle (trained with this config) "
                        "and re-score it on the held-out clips, rewriting its scores, held-out answers and card")
    p.add_argument("--eval-workers", type=int, help="override eval_workers (processes for the held-out scoring)")
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Train and report the bundle and its held-out scores."""
    from faceqa.train.config import TrainConfig

    cfg = TrainConfig.load(args.config)  # a bad config is refused before the heavy imports below
    if args.steps is not None:
        cfg.steps = args.steps
    if args.output_dir:
        cfg.output_dir = args.output_dir
    if args.eval_workers is not None:
        cfg.eval_workers = max(1, args.eval_workers)
    if args.evaluate:
        from faceqa.safeio import check_path
        from faceqa.train.loop import evaluate_bundle

        result = evaluate_bundle(cfg, check_path(args.evaluate, "--evaluate"))
    else:
        from faceqa.train.loop import train

        result = train(cfg)
    if args.json:
        print_json(result)
    else:
        done = "re-scored" if args.evaluate else f"written after {result['steps']} steps"
        print(f"bundle {result['bundle']} {done}")
        for mode, per in result["scores"].items():
            overall = per["overall"]
            parts = []
            for kind, key, name in (("coarse", "uf1", "coarse UF1"), ("fine", "uf1", "fine UF1"),
                                    ("aus", "f1", "AU F1")):
                if kind in overall:
                    llm, comp = overall[kind]["llm"][key], overall[kind]["composer"][key]
                    parts.append(f"{name} {llm:.3f} (composer {comp:.3f})")
            print(f"held-out, {mode} evidence: LLM " + ", ".join(parts))
    return 0
