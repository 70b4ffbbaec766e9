"""The training loop (nanoGPT-sized): sample a batch, forward, backward, step; evaluate; save.

HF Accelerate runs the same code on the CPU, one GPU, or many (``accelerate launch -m faceqa.cli.main
train --config FILE``), with mixed precision on GPU. Checkpoints (``output_dir/checkpoint``: model,
optimiser, scheduler and RNG state, plus ``progress.json``) are written every ``save_every`` steps,
and a run started again with the same ``output_dir`` resumes from the last one. The final adapter
bundle goes to ``output_dir/bundle`` with its held-out scores and model card.
"""

from __future__ import annotations

import json
import math
import time
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from faceqa.aullm.bundle import create_model, save_pretrained
from faceqa.aullm.features import features_from_labels
from faceqa.megc.splits import subject_folds
from faceqa.train.batches import annotation_features, make_batch, media_features
from faceqa.train.card import model_card
from faceqa.train.config import TrainConfig
from faceqa.train.evaluate import evaluate_model
from faceqa.train.examples import load_clips, qa_examples, split_by_subject, subject_key


def _schedule(cfg: TrainConfig):
    def factor(step: int) -> float:
        if step < cfg.warmup:
            return (step + 1) / max(1, cfg.warmup)
        progress = (step - cfg.warmup) / max(1, cfg.steps - cfg.warmup)
        return 0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * min(1.0, progress)))
    return factor


def split(cfg: TrainConfig):
    """(train clips, held-out clips) by subject, per the config (first fold when ``folds`` > 0)."""
    clips = load_clips(cfg.data_root, tuple(cfg.sources), tuple(cfg.qa_files))
    if cfg.folds:
        held = subject_folds([subject_key(c) for c in clips], cfg.folds, cfg.seed)[0]
        return [c for c in clips if subject_key(c) not in held], [c for c in clips if subject_key(c) in held]
    return split_by_subject(clips, cfg.holdout, cfg.seed)


def train(cfg: TrainConfig, progress: bool = True, model=None) -> dict:
    """Train per ``cfg``; returns {"bundle": path, "scores": held-out scores, "steps": n}."""
    from accelerate import Accelerator

    out_dir = Path(cfg.output_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(cfg.seed)
    accelerator = Accelerator(mixed_precision=cfg.mixed_precision, gradient_accumulation_steps=cfg.grad_accum)
    train_clips, test_clips = split(cfg)
    model = model or create_model(cfg.model)
    if cfg.gradient_checkpointing:
        model.llm.gradient_checkpointing_enable()
        model.llm.enable_input_require_grads()
    params = [p for p in model.parameters() if p.requires_grad]
    evidence = [p for n, p in model.named_parameters() if p.requires_grad and not n.startswith("llm.")]
    ids = {id(p) for p in evidence}
    optimizer = torch.optim.AdamW([{"params": [p for p in params if id(p) not in ids], "lr": cfg.lr},
                                   {"params": evidence, "lr": cfg.lr * cfg.evidence_lr_scale}],
                                  weight_decay=cfg.weight_decay)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, _schedule(cfg))
    model, optimizer, scheduler = accelerator.prepare(model, optimizer, scheduler)
    core = accelerator.unwrap_model(model)
    media = cfg.mode == "media"
    crops = bool(cfg.model.vision_encoder)
    features = (media_features(cfg.media_root, core.node_aus, cfg.fps, crops) if media
                else annotation_features(core.node_aus))
    ckpt = out_dir / "checkpoint"
    start = 0
    if (ckpt / "progress.json").exists():
        accelerator.load_state(str(ckpt))
        start = json.loads((ckpt / "progress.json").read_text())["step"]
    rng = np.random.default_rng(cfg.seed + start)
    log = (out_dir / "log.jsonl").open("a")
    model.train()
    bar = tqdm(range(start, cfg.steps), desc="training", unit="step", disable=not progress, initial=start,
               total=cfg.steps)
    t0 = time.perf_counter()
    for step in bar:
        clips = [train_clips[i] for i in rng.integers(len(train_clips), size=cfg.batch_size)]
        examples = []
        for c in clips:
            options = qa_examples(c, rng)
            examples.append(options[int(rng.integers(len(options)))])
        batch = make_batch(examples, core.node_aus, rng, features, counterfactuals=cfg.model.ccr_weight > 0,
                           synthesise=not media)
        with accelerator.accumulate(model):
            out = model(**batch.model_kwargs())
            accelerator.backward(out["loss"])
            accelerator.clip_grad_norm_(params, 1.0)
            optimizer.step()
            scheduler.step()
            optimizer.zero_grad()
        if (step + 1) % cfg.log_every == 0 or step + 1 == cfg.steps:
            rec = {"step": step + 1, "seconds": round(time.perf_counter() - t0, 1), "lr": scheduler.get_last_lr()[0]}
            rec |= {k: round(v.item(), 4) for k, v in out.items() if k != "logits"}
            log.write(json.dumps(rec) + "\n")
            log.flush()
            bar.set_postfix(loss=rec["loss"], lm=rec["lm"])
        if cfg.save_every and (step + 1) % cfg.save_every == 0 and step + 1 < cfg.steps:
            accelerator.save_state(str(ckpt))
            (ckpt / "progress.json").write_text(json.dumps({"step": step + 1}))
        if cfg.eval_every and (step + 1) % cfg.eval_every == 0 and step + 1 < cfg.steps:
            evaluation = held_out_scores(core, cfg, test_clips, False, features if media else None)
            log.write(json.dumps({"step": step + 1, "eval": evaluation}) + "\n")
            model.train()
    log.close()
    scores = held_out_scores(core, cfg, test_clips, progress, features if media else None)
    info = {"train_clips": len(train_clips), "held_out_clips": len(test_clips),
            "held_out_subjects": sorted({subject_key(c) for c in test_clips}), "steps": cfg.steps}
    bundle = save_pretrained(core, out_dir / "bundle", scores=scores | {"split": info},
                             card=model_card(cfg, scores, info))
    return {"bundle": str(bundle), "scores": scores, "steps": cfg.steps}


def held_out_scores(model, cfg: TrainConfig, clips, progress: bool, media_fn=None) -> dict:
    """Scores on held-out clips: from their video evidence (media mode), or with motion features
    synthesised from the labels and, separately, with the oracle AU channel filled as well."""
    model.eval()
    order = np.random.default_rng(cfg.seed).permutation(len(clips))  # a mix of every dataset
    sample = [clips[i] for i in order[: cfg.eval_clips]] if cfg.eval_clips else clips
    if media_fn is not None:
        return {"video_evidence": evaluate_model(model, sample, media_fn, cfg.seed, progress)}
    node_aus = model.node_aus
    motion = evaluate_model(model, sample, lambda ex, rng: features_from_labels(list(ex.clip.aus), node_aus, rng, 1.0),
                            cfg.seed, progress)
    oracle = evaluate_model(model, sample, lambda ex, rng: features_from_labels(list(ex.clip.aus), node_aus, rng, 0.0),
                            cfg.seed, progress)
    return {"motion_features": motion, "with_au_labels": oracle}
