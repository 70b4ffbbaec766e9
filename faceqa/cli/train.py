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
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Train and report the bundle and its held-out scores."""
    from faceqa.train.config import TrainConfig

    cfg = TrainConfig.load(args.config)  # a bad config is refused before the heavy imports below
    from faceqa.train.loop import train

    if args.steps is not None:
        cfg.steps = args.steps
    if args.output_dir:
        cfg.output_dir = args.output_dir
    result = train(cfg)
    if args.json:
        print_json(result)
    else:
        print(f"bundle written to {result['bundle']} after {result['steps']} steps")
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
