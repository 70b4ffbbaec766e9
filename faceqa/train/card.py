"""The model card written into every trained bundle (README.md)."""

from __future__ import annotations

import datetime
import json

from faceqa.train.config import TrainConfig


def _row(name: str, s: dict) -> str:
    def g(path, key):
        return f"{s[path][key]:.3f}" if path in s else "-"

    def v(key):
        return f"{s[key]:.3f}" if key in s else "-"

    return (f"| {name} | {g('coarse', 'uf1')} | {g('coarse', 'uar')} | {g('fine', 'uf1')} | {g('fine', 'uar')} "
            f"| {v('au_f1')} | {v('bleu4')} | {v('corpus_bleu4')} | {v('rouge1')} |")


def model_card(cfg: TrainConfig, scores: dict, info: dict) -> str:
    """Markdown model card: what the bundle is, how and on what it was trained, held-out scores."""
    m = cfg.model
    held = f"first of {cfg.folds} subject folds" if cfg.folds else f"{cfg.holdout:.0%} of each dataset's subjects"
    lines = [
        "# faceqa AULLM++ adapter bundle",
        "",
        f"Base model: `{m.base_model}`; prompt `{m.prompt}`; {m.n_content_tokens} content tokens (MGE-EFP), "
        f"{m.n_instruction_tokens} instruction tokens (R-AUGNN); LoRA r={m.lora_r}, alpha={m.lora_alpha} on "
        f"{', '.join(m.lora_targets)}; losses: LM + {m.au_weight} x asymmetric AU loss + {m.ccr_weight} x CCR.",
        "",
        "## Training",
        "",
        f"- Mode: **{cfg.mode}**" + (" (annotation-evidence: motion features synthesised from the AU labels, "
                                     "no video was seen)" if cfg.mode == "annotations" else " (evidence from video)"),
        f"- Data: {', '.join(cfg.sources)} (from `{cfg.data_root}`); {info['train_clips']} training clips, "
        f"{info['held_out_clips']} held-out clips from {len(info['held_out_subjects'])} held-out subjects "
        f"({held}, seed {cfg.seed}).",
        f"- {cfg.steps} steps, batch {cfg.batch_size}, lr {cfg.lr}, trained {datetime.date.today().isoformat()}.",
        "",
        "## Held-out-subject scores",
        "",
        "Answers to the MEGC question types for held-out subjects' clips. *motion features*: the model "
        "sees only the motion evidence synthesised from the labels (what video evidence gives it); *with AU labels*: "
        "the oracle AU channel is filled too (the `--au-labels` mode).",
        "",
        "| evidence, dataset | coarse UF1 | coarse UAR | fine UF1 | fine UAR | AU F1 | sentence BLEU-4 | corpus BLEU-4 "
        "| ROUGE-1 |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for ev, per in scores.items():
        for ds, s in per.items():
            lines.append(_row(f"{ev.replace('_', ' ')}, {ds}", s))
    lines += ["", "## Configuration", "", "```json", json.dumps(cfg.to_dict(), indent=2), "```", ""]
    return "\n".join(lines)
