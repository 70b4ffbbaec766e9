"""The model card written into every trained bundle (README.md)."""

from __future__ import annotations

import datetime
import json
import os
from pathlib import Path

from faceqa.aullm.answerer import UNSEEN
from faceqa.aullm.calibration import WEIGHTS
from faceqa.qa.kinds import HEADLINE, KINDS, SCORED_KINDS
from faceqa.train.config import TrainConfig

MODE_NAMES = {"labels": "with AU labels (the `--au-labels` path)",
              "video": "synthesised motion (a stand-in for video evidence)"}


def loss_curve(log_path: str | Path | None, points: int = 8) -> list[dict]:
    """The LLM stage's loss curve from ``log.jsonl``: mean losses over ``points`` equal windows of steps."""
    if log_path is None or not Path(log_path).is_file():
        return []
    recs = [json.loads(line) for line in Path(log_path).read_text().splitlines() if line.strip()]
    recs = [r for r in recs if "lm" in r and r.get("stage") != "head"]
    by_step: dict[int, dict] = {}
    for r in recs:
        by_step[r["step"]] = r  # a resumed run logs the same steps again: keep the last
    recs = [by_step[s] for s in sorted(by_step)]
    if not recs:
        return []
    size = max(1, len(recs) // points)
    out = []
    for i in range(0, len(recs), size):
        chunk = recs[i:i + size]
        out.append({"steps": f"{chunk[0]['step']}-{chunk[-1]['step']}",
                    "lm": round(sum(r["lm"] for r in chunk) / len(chunk), 4),
                    "au": round(sum(r.get("au", 0.0) for r in chunk) / len(chunk), 4)})
    return out


def earlier_stages(training: dict) -> list[dict]:
    """The training records of the stages before this one, first stage first (``training["init"]``, nested)."""
    out: list[dict] = []
    stage = training.get("init")
    while stage:
        out.insert(0, stage)
        stage = stage.get("init")
    return out


def _scored(scored: int, held: int) -> str:
    return f"all {held}" if scored == held else f"a seeded sample of {scored} (by dataset share) of the {held}"


def _fmt(x) -> str:
    return f"{x:.3f}" if isinstance(x, int | float) else "-"


def _scope_label(scope: str, clips: int) -> str:
    """A score table's first column: the dataset, or the pooled scope with its clip count."""
    if scope == "overall":
        return f"overall ({clips} clips)"
    return f"unseen datasets ({clips} clips with fine classes)" if scope == UNSEEN else scope


def score_tables(scores: dict) -> list[str]:
    """Markdown tables: per evidence mode and dataset, each question type's LLM and composer figures."""
    lines: list[str] = []
    for mode, per_scope in scores.items():
        if mode not in MODE_NAMES:
            continue
        lines += [f"### {MODE_NAMES[mode].capitalize()}", "",
                  "| dataset | question type | n | LLM | composer | answers (auto) |", "|---|---|---|---|---|---|"]
        for scope, per in per_scope.items():
            label = _scope_label(scope, per.get("clips", 0))
            for kind in SCORED_KINDS:
                if kind not in per:
                    continue
                key = HEADLINE[kind]
                llm, comp = per[kind]["llm"][key], per[kind]["composer"][key]
                lines.append(f"| {label} | {KINDS[kind].title} | {per[kind]['n']} | {_fmt(llm)} | {_fmt(comp)} "
                             f"| {'LLM' if llm >= comp else 'composer'} |")
            text = per.get("text")
            if text:
                lines.append(f"| {label} | text: BLEU-4 / corpus BLEU-4 / ROUGE-1 | {per['questions']} "
                             f"| {text['llm']['bleu4']:.3f} / {text['llm']['corpus_bleu4']:.3f} / "
                             f"{text['llm']['rouge1']:.3f} | {text['composer']['bleu4']:.3f} / "
                             f"{text['composer']['corpus_bleu4']:.3f} / {text['composer']['rouge1']:.3f} | - |")
        lines.append("")
    return lines


def _calibration_text(cal: dict | None) -> str:
    """The card's words on the bundle's calibration (``scores.json`` -> ``split`` -> ``calibration``)."""
    if not cal:
        return ""
    strength = cal["strength"]
    if not isinstance(strength, dict):
        return (f"; class answers divide out {strength:g} x the LLM's class priors measured on {cal['clips']} "
                "training clips (`calibration.json`)")
    fitted = " (each the best unweighted F1 of 0-2 on those clips)" if "fine_uf1_by_strength" in cal else ""
    text = (f"; class answers divide out the LLM's class priors measured on {cal['clips']} training clips, "
            + ", ".join(f"{s:g} x for {role}" for role, s in sorted(strength.items())) + fitted)
    if any((weights := cal.get("premise_weight") or {}).values()):
        text += ("; and add the premises' candidate log-probabilities (the AU -> emotion deduction), "
                 + ", ".join(f"{w:g} x for {role}" for role, w in sorted(weights.items()))
                 + f" (fitted with the strength, 0-{max(WEIGHTS):g})")
    if (f1 := cal.get("au_f1")):
        text += (f"; AU lists end where logit(end) - logit(\",\") >= {cal['stop_bias']:g}, fitted on the same clips' "
                 f"AU questions (AU F1 there {f1['uncalibrated']:.3f} at 0 -> {f1['fitted']:.3f})")
    return text + " (`calibration.json`)"


def model_card(cfg: TrainConfig, scores: dict, info: dict, training: dict | None = None,
               log_path: str | Path | None = None) -> str:
    """Markdown model card: what the bundle is, how and on what it was trained, held-out scores and routing."""
    m = cfg.model
    training = training or {}
    held = f"first of {cfg.folds} subject folds" if cfg.folds else f"{cfg.holdout:.0%} of each dataset's subjects"
    lines = [
        "# faceqa AULLM++ adapter bundle",
        "",
        f"Base model: `{m.base_model}` ({m.dtype or 'default dtype'}); prompt `{m.prompt}`; {m.n_content_tokens} "
        f"content tokens (MGE-EFP), {m.n_instruction_tokens} instruction tokens (R-AUGNN)"
        + (", premises as text (AUs with confidence and side: the AU head's from labels, the evidence read-out's "
           "from video; interval, emotion candidates)"
           if m.prompt != "aullm_v1" else "")
        + f"; LoRA r={m.lora_r}, alpha={m.lora_alpha} on {', '.join(m.lora_targets)}; losses: LM + {m.au_weight} x "
        f"asymmetric AU loss + {m.ccr_weight} x CCR (every {cfg.ccr_every} steps). Closed-set answers are decoded "
        "under constraints (class list, FACS names, no repeated AU; a coarse answer is the coarse class of the fine "
        "answer where the dataset has fine classes)"
        + _calibration_text(info.get("calibration")) + ".",
        "",
        "## Training",
        "",
        f"- Mode: **{cfg.mode}**" + (" (annotation-evidence: motion features synthesised from the AU labels, "
                                     "no video was seen)" if cfg.mode == "annotations" else " (evidence from video)"),
        f"- Data: {', '.join(cfg.sources)} (from `{cfg.data_root}`"
        + ("; CAS(ME)^3's `others` clips included, each with its subject" if cfg.others else "")
        + f"); {info['train_clips']} training clips, "
        f"{info['held_out_clips']} held-out clips from {len(info['held_out_subjects'])} held-out subjects "
        f"({held}, seed {cfg.seed}); "
        f"{_scored(info.get('scored_clips', info['held_out_clips']), info['held_out_clips'])} held-out clips scored"
        + (f", and {_scored(info.get('scored_videos', info['held_out_videos']), info['held_out_videos'])} held-out "
           "long videos for ME-LVQA" if info.get("held_out_videos") else "")
        + ".",
    ]
    earlier = earlier_stages(training)
    n = len(earlier) + 1
    how = (f"{cfg.batch_size} clips a step with all their questions packed"
           + (f", clips drawn with weight 1/n^{cfg.balance:g} (n: training clips of their dataset and class)"
              if cfg.balance else "") + f", lr {cfg.lr}, trained {datetime.date.today().isoformat()}.")
    for i, stage in enumerate(earlier, 1):
        what = (f"{stage.get('head_steps', 0)} AU-head steps, then {stage.get('steps', 0)} AULLM++ steps"
                if i == 1 else f"{stage.get('steps', 0)} more AULLM++ steps from the stage-{i - 1} weights")
        head = f"AU head {stage['head_seconds'] / 60:.1f} min, " if stage.get("head_seconds") else ""
        lines.append(f"- Stage {i}{f' (`{os.path.relpath(cfg.init_bundle)}`)' if i == n - 1 else ''}: {what} of "
                     f"{stage.get('batch_size', 0)} clips; {head}LLM stage {stage.get('seconds', 0) / 60:.1f} min "
                     f"wall, {stage.get('cpu_seconds', 0) / 60:.1f} min CPU.")
    if earlier:
        lines.append(f"- Stage {n} (this config): {cfg.steps} more AULLM++ steps from the stage-{n - 1} weights, {how}")
    else:
        lines.append(f"- {cfg.head_steps} AU-head steps (batch {cfg.head_batch_size}), then {cfg.steps} AULLM++ "
                     f"steps, {how}")
    if training.get("seconds"):
        steps = max(1, cfg.steps)
        head = f"AU head {training['head_seconds'] / 60:.1f} min; " if training.get("head_seconds") else ""
        lines.append(f"- Time{f' (stage {n})' if earlier else ''}: {head}LLM stage "
                     f"{training['seconds'] / 60:.1f} min wall ({training['seconds'] / steps:.2f} s/step), "
                     f"{training['cpu_seconds'] / 60:.1f} min CPU ({training['cpu_seconds'] / steps:.2f} CPU s/step), "
                     f"threads {cfg.threads or 'default'}.")
    lines.append("- Reproduce: `faceqa train --config configs/default_bundle.toml` (this config is below"
                 + ("; it trains the earlier stages first, each through its `init_config`, when their bundles are "
                    "not there" if earlier else "") + ").")
    curves = [(f"stage {i}", stage.get("loss_curve")) for i, stage in enumerate(earlier, 1)]
    curves.append((f"stage {n}" if earlier else "LLM stage", training.get("loss_curve") or loss_curve(log_path)))
    for name, curve in curves:
        if curve:
            lines += ["", f"Loss curve ({name}; mean per window of steps):", "", "| steps | LM loss | AU loss |",
                      "|---|---|---|"] + [f"| {c['steps']} | {c['lm']:.4f} | {c['au']:.4f} |" for c in curve]
    lines += [
        "",
        "## Held-out-subject scores: LLM and composer on the same clips",
        "",
        "Both answerers answer the same questions from the same facts; both use an AU -> emotion deduction "
        "fitted on the training subjects only. *With AU labels*: the oracle AU labels, as `faceqa megc predict "
        "--au-labels` answers. *Synthesised motion*: the motion the labelled AUs would produce (with weak "
        "distractor AUs and noise), read by the LLM's evidence features and by the composer's AU read-out; "
        "generated data, so it ranks the two answerers but does not measure accuracy on real video. The last "
        "column is who answers that question type under `answerer=\"auto\"` (the default): the LLM only where "
        "its held-out figure is at least the composer's.",
        "",
    ]
    lines += score_tables(scores)
    lines += ["## Routing", "",
              "`answerer=\"auto\"` (the default of `faceqa ask`, `faceqa megc predict`, the tools and chat) reads "
              "`routing` in `scores.json`: for a question of a dataset scored here, that dataset's figures; for any "
              "other dataset, the *unseen datasets* figures: those over the held-out clips of the datasets with fine "
              "classes, which the bundle answers as it answers a dataset it never saw (the generic MEGC class "
              "vocabulary for constrained decoding has fine classes, and a coarse answer is the coarse class of the "
              "fine one). "
              "Question types without an LLM figure (free-form questions, ME-VQA v2 analysis) go to the composer.",
              ""]
    composer_kinds = sorted({k for mode in scores.values() if isinstance(mode, dict)
                             for scope in mode.values() if isinstance(scope, dict)
                             for k, v in scope.items() if k in HEADLINE and v["llm"][HEADLINE[k]] < v["composer"][
                                 HEADLINE[k]]})
    if composer_kinds:
        lines += ["Where the LLM did not reach the composer (some dataset or evidence mode above), the composer "
                  f"answers: {', '.join(KINDS[k].title for k in composer_kinds)}.", ""]
    config = cfg.to_dict()
    for key in ("output_dir", "data_root", "media_root", "init_bundle", "init_config"):  # from where it ran
        if config.get(key) and Path(config[key]).is_absolute():
            config[key] = os.path.relpath(config[key])
    config["qa_files"] = [os.path.relpath(f) if Path(f).is_absolute() else f for f in config["qa_files"]]
    lines += ["## Configuration", "", "```json", json.dumps(config, indent=2), "```", ""]
    return "\n".join(lines)
